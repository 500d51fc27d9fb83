package dev.expertmesh.cuda.stage;

import dev.expertmesh.cuda.binding.StandIns;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The gpu-tagged tests run against stand-ins of libcuda, NVRTC and cuBLAS that compute on the host
 * (src/test/c/emulated_*.c, fake_cublas.c: each kernel of the ABI as a plain loop), in a JVM whose
 * loader finds them first. What passes here is the Java side of the CUDA engine (buffers, offsets,
 * block tables, launch arguments, GEMM layouts) against the CPU engine; the kernels themselves and
 * the real CUDA libraries are checked on a GPU only (cuda/gpu-check.sh).
 */
class EmulatedGpuTest {

    @Test
    void theGpuTestsPassOnAnEmulatedGpu(@TempDir Path dir) throws Exception {
        assumeTrue(EmulatedGpuTest.class.getResource("/dev/expertmesh/cuda/kernels/rms_norm.cu") != null,
                "the kernel sources are not on the classpath");
        StandIns.buildAs("emulated_cuda", dir.resolve("libcuda.so.1"), "-lm");
        StandIns.buildAs("emulated_nvrtc", dir.resolve("libnvrtc.so"));
        StandIns.buildAs("fake_cublas", dir.resolve("libcublas.so"));
        StandIns.buildAs("fake_cublas", dir.resolve("libcublasLt.so"));
        Path root = Path.of("").toAbsolutePath().getParent();
        ProcessBuilder child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "@" + root.resolve("jvm.options"), "-Dexpertmesh.testdata=" + root.resolve("testdata"),
                "-cp", System.getProperty("java.class.path"), "dev.expertmesh.cuda.GpuTests")
                .redirectErrorStream(true);
        child.environment().put("LD_LIBRARY_PATH", dir.toString());
        child.environment().put("EXPERTMESH_CACHE", dir.resolve("cache").toString());
        Process process = child.start();
        String output = new String(process.getInputStream().readAllBytes());
        assertThat(process.waitFor(10, TimeUnit.MINUTES)).isTrue();
        assertThat(process.exitValue()).as(output).isZero();
        assertThat(output).contains("6 tests successful");
    }
}
