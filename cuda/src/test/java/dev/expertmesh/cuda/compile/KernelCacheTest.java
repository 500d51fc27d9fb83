package dev.expertmesh.cuda.compile;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class KernelCacheTest {
    private static final String SOURCE = "extern \"C\" __global__ void k(float* x) { x[0] = 1; }";

    /** Compiles by tagging the source with the architecture and version, recording each compile. */
    private static final class CountingCompiler implements KernelCompiler {
        private final String version;
        final List<String> compiled = new ArrayList<>();

        CountingCompiler(String version) {
            this.version = version;
        }

        @Override
        public String version() {
            return version;
        }

        @Override
        public byte[] compile(String name, String source, int architecture) {
            compiled.add(name + "@sm_" + architecture);
            return (source + "|sm_" + architecture + "|" + version).getBytes(StandardCharsets.UTF_8);
        }
    }

    @Test
    void theSecondStartReadsWhatTheFirstCompiled(@TempDir Path dir) {
        CountingCompiler first = new CountingCompiler("13.0");
        byte[] compiled = new KernelCache(dir, first).binary("k", SOURCE, 90);
        CountingCompiler second = new CountingCompiler("13.0");
        byte[] cached = new KernelCache(dir, second).binary("k", SOURCE, 90);

        assertThat(first.compiled).containsExactly("k@sm_90");
        assertThat(second.compiled).isEmpty();
        assertThat(cached).isEqualTo(compiled);
    }

    @Test
    void anotherSourceArchitectureOrCompilerCompilesAgain(@TempDir Path dir) {
        CountingCompiler compiler = new CountingCompiler("13.0");
        KernelCache cache = new KernelCache(dir, compiler);
        cache.binary("k", SOURCE, 90);
        cache.binary("k", SOURCE + " ", 90);
        cache.binary("k", SOURCE, 80);
        new KernelCache(dir, new CountingCompiler("12.8")).binary("k", SOURCE, 90);

        assertThat(compiler.compiled).containsExactly("k@sm_90", "k@sm_90", "k@sm_80");
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).hasSize(4).allMatch(n -> n.endsWith(".cubin"));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void theKeyNamesEverythingTheBinaryDependsOn() {
        KernelCacheKey key = KernelCacheKey.of("rms_norm", SOURCE, 90, "13.0");
        assertThat(key.fileName()).startsWith("rms_norm-sm90-nvrtc13.0-").endsWith(".cubin");
        assertThat(key.sourceHash()).hasSize(64).isNotEqualTo(KernelCacheKey.of("rms_norm", SOURCE + "\n", 90, "13.0").sourceHash());
        assertThat(key).isEqualTo(KernelCacheKey.of("rms_norm", SOURCE, 90, "13.0"));
    }
}
