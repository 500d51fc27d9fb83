package dev.expertmesh.cuda;

import dev.expertmesh.cuda.binding.StandIns;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Runs gpu-tagged tests against stand-ins of libcuda, NVRTC and cuBLAS that compute on the host
 * (cuda/src/test/c: each kernel of the ABI as a plain loop), in a child JVM with the calling test's
 * class path whose loader finds the stand-ins first. What passes there is the Java side of the GPU
 * path (buffers, offsets, block tables, launch arguments, GEMM layouts); the kernels themselves and
 * the real CUDA libraries are checked on a GPU only (cuda/gpu-check.sh).
 */
public final class EmulatedGpu {
    private EmulatedGpu() {
    }

    /**
     * Runs the gpu-tagged tests of {@code packageName} in a child JVM on the emulated GPU, the
     * stand-ins built into {@code dir}; fails unless they pass, and returns the run's summary.
     */
    public static String runGpuTests(Path dir, String packageName) throws IOException, InterruptedException {
        assumeTrue(EmulatedGpu.class.getResource("/dev/expertmesh/cuda/kernels/rms_norm.cu") != null,
                "the kernel sources are not on the classpath");
        StandIns.buildAs("emulated_cuda", dir.resolve("libcuda.so.1"), "-lm");
        StandIns.buildAs("emulated_nvrtc", dir.resolve("libnvrtc.so"));
        StandIns.buildAs("fake_cublas", dir.resolve("libcublas.so"));
        StandIns.buildAs("fake_cublas", dir.resolve("libcublasLt.so"));
        Path root = StandIns.repositoryRoot();
        ProcessBuilder child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "@" + root.resolve("jvm.options"), "-Dexpertmesh.testdata=" + root.resolve("testdata"),
                "-cp", System.getProperty("java.class.path"), GpuTests.class.getName(), packageName)
                .redirectErrorStream(true);
        child.environment().put("LD_LIBRARY_PATH", dir.toString());
        child.environment().put("EXPERTMESH_CACHE", dir.resolve("cache").toString());
        Process process = child.start();
        String output = new String(process.getInputStream().readAllBytes());
        assertThat(process.waitFor(10, TimeUnit.MINUTES)).isTrue();
        assertThat(process.exitValue()).as(output).isZero();
        return output;
    }
}
