package dev.expertmesh.cuda.binding;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Stand-in CUDA libraries built from src/test/c by gcc; the calling test is skipped without gcc. */
final class StandIns {
    private StandIns() {
    }

    /** lib{name}.so in {@code dir}, built from src/test/c/{name}.c. */
    static Path build(String name, Path dir) throws IOException, InterruptedException {
        Path library = dir.resolve("lib" + name + ".so");
        Process gcc;
        try {
            gcc = new ProcessBuilder("gcc", "-O1", "-shared", "-fPIC", "-o", library.toString(), "src/test/c/" + name + ".c")
                    .redirectErrorStream(true).start();
        } catch (IOException noGcc) {
            assumeTrue(false, "gcc is not on the PATH: the stand-in " + name + " cannot be built");
            throw noGcc;
        }
        String output = new String(gcc.getInputStream().readAllBytes());
        assertThat(gcc.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(gcc.exitValue()).as(output).isZero();
        return library;
    }
}
