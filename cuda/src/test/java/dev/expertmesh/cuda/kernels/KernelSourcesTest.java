package dev.expertmesh.cuda.kernels;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The kernel sources as NVRTC will see them at run time: every .cu file in the kernels resource folder
 * compiles with nvcc for sm_80 and sm_90 with warnings as errors, includes nothing NVRTC lacks, and
 * exports the kernels the Java launchers call by name (the kernel ABI's table) as extern "C" entries.
 * No GPU is needed, only nvcc; without it the compile tests are skipped.
 */
class KernelSourcesTest {
    private static final String KERNELS = "dev/expertmesh/cuda/kernels";
    private static final List<String> ARCHITECTURES = List.of("sm_80", "sm_90");
    /** The kernel ABI's files and the entry points each must export. */
    private static final Map<String, Set<String>> EXPORTED = Map.ofEntries(
            Map.entry("embedding.cu", Set.of("embed")),
            Map.entry("rms_norm.cu", Set.of("rms_norm", "rms_norm_f32")),
            Map.entry("rope.cu", Set.of("yarn_rope")),
            Map.entry("silu_mul.cu", Set.of("silu_mul")),
            Map.entry("router.cu", Set.of("route_topk")),
            Map.entry("moe.cu", Set.of("moe_gather", "moe_combine", "moe_align", "moe_linear_bf16")),
            Map.entry("cache.cu", Set.of("cache_write")),
            Map.entry("mla_decode.cu", Set.of("mla_decode")),
            Map.entry("mla_prefill.cu", Set.of("mla_prefill")),
            Map.entry("sampling.cu", Set.of("argmax")),
            Map.entry("elementwise.cu", Set.of("add_f32", "f32_to_bf16", "bf16_to_f32")),
            Map.entry("quantized_linear.cu", Set.of("linear_int8", "linear_int4", "linear_fp8", "moe_linear_int8",
                    "moe_linear_int4", "moe_linear_fp8")));
    private static final Pattern INCLUDE = Pattern.compile("^\\s*#\\s*include\\s*(\\S+)", Pattern.MULTILINE);
    private static final Pattern KERNEL = Pattern.compile("extern\\s+\"C\"\\s+__global__\\s+void\\s+(\\w+)");
    private static final Pattern ENTRY = Pattern.compile("\\.entry\\s+(\\w+)\\s*\\(");
    private static final long NVCC_TIMEOUT_SECONDS = 300;

    @TempDir
    Path work;

    @Test
    void everyFileOfTheAbiIsPresent() throws IOException {
        Set<String> present = kernelSources().stream().map(path -> path.getFileName().toString()).collect(Collectors.toSet());
        assertThat(present).containsAll(EXPORTED.keySet());
    }

    @Test
    void sourcesIncludeOnlyWhatNvrtcProvides() throws IOException {
        for (Path source : kernelSources()) {
            Matcher include = INCLUDE.matcher(Files.readString(source));
            while (include.find()) {
                assertThat(include.group(1)).as("an #include of %s", source.getFileName()).isEqualTo("<cuda_bf16.h>");
            }
        }
    }

    @Test
    void everyKernelStatesItsGridAndBlock() throws IOException {
        for (Path source : kernelSources()) {
            String text = Files.readString(source);
            Matcher kernel = KERNEL.matcher(text);
            int previousEnd = 0;
            while (kernel.find()) {
                String before = text.substring(previousEnd, kernel.start());
                String comment = before.substring(before.lastIndexOf('}') + 1);
                assertThat(comment).as("the comment above %s in %s", kernel.group(1), source.getFileName())
                        .containsPattern("Grid .*, block ");
                previousEnd = kernel.end();
            }
        }
    }

    @TestFactory
    Stream<DynamicTest> everyKernelCompilesAndExportsItsEntries() throws IOException {
        Optional<Path> nvcc = nvcc();
        assumeTrue(nvcc.isPresent(), "nvcc is on neither the PATH nor /usr/local/cuda/bin: the kernels are compiled only by NVRTC at run time");
        return kernelSources().stream().flatMap(source -> ARCHITECTURES.stream().map(arch ->
                DynamicTest.dynamicTest(source.getFileName() + " for " + arch, () -> compile(nvcc.get(), source, arch))));
    }

    private void compile(Path nvcc, Path source, String arch) throws IOException, InterruptedException {
        String name = source.getFileName().toString();
        String stem = name.substring(0, name.length() - ".cu".length());
        Path dir = Files.createDirectories(work.resolve(arch).resolve(stem));
        // -cubin runs ptxas too; --keep leaves the PTX next to it, where the entries are read.
        Process process = new ProcessBuilder(nvcc.toString(), "-arch=" + arch, "-cubin", "-std=c++17",
                "-Werror", "all-warnings", "-Xptxas", "-Werror", "--keep", "--keep-dir", dir.toString(),
                "-o", dir.resolve(stem + ".cubin").toString(), source.toString())
                .redirectErrorStream(true)
                .start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(NVCC_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail("nvcc did not finish compiling %s for %s within %d s", name, arch, NVCC_TIMEOUT_SECONDS);
        }
        if (process.exitValue() != 0) {
            fail("nvcc failed to compile %s for %s:%n%s", name, arch, output);
        }
        Set<String> entries = ENTRY.matcher(Files.readString(dir.resolve(stem + ".ptx"))).results()
                .map(match -> match.group(1)).collect(Collectors.toSet());
        assertThat(entries).as("the extern \"C\" __global__ entries of %s", name)
                .containsAll(EXPORTED.getOrDefault(name, Set.of()));
    }

    /**
     * The .cu files of the kernels resource folder as the classpath has them (target/classes). Every
     * folder of that name is searched: this test's own package is one too, in target/test-classes.
     */
    private static List<Path> kernelSources() throws IOException {
        List<Path> sources = new ArrayList<>();
        for (URL folder : Collections.list(KernelSourcesTest.class.getClassLoader().getResources(KERNELS))) {
            try (Stream<Path> files = Files.list(Path.of(folder.toURI()))) {
                files.filter(path -> path.getFileName().toString().endsWith(".cu")).forEach(sources::add);
            } catch (URISyntaxException e) {
                throw new IOException("unreadable resource folder " + folder, e);
            }
        }
        sources.sort(Comparator.comparing(Path::getFileName));
        return sources;
    }

    /** nvcc from the PATH, else from the default CUDA install. */
    private static Optional<Path> nvcc() {
        Stream<Path> onPath = Stream.of(System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
                .filter(dir -> !dir.isEmpty())
                .map(dir -> Path.of(dir, "nvcc"));
        return Stream.concat(onPath, Stream.of(Path.of("/usr/local/cuda/bin/nvcc")))
                .filter(Files::isExecutable)
                .findFirst();
    }
}
