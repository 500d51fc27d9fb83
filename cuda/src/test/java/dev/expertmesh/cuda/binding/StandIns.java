package dev.expertmesh.cuda.binding;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Stand-in CUDA libraries built from src/test/c by gcc; the calling test is skipped without gcc. */
public final class StandIns {
    private StandIns() {
    }

    /** lib{name}.so in {@code dir}, built from src/test/c/{name}.c with {@code flags}. */
    static Path build(String name, Path dir, String... flags) throws IOException, InterruptedException {
        return buildAs(name, dir.resolve("lib" + name + ".so"), flags);
    }

    /** The repository's root: the parent of the module directory a test runs in. */
    public static Path repositoryRoot() {
        return Path.of("").toAbsolutePath().getParent();
    }

    /** {@code library}, built from cuda/src/test/c/{source}.c with {@code flags}, from any module's tests. */
    public static Path buildAs(String source, Path library, String... flags) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("gcc", "-O1", "-shared", "-fPIC", "-o", library.toString(),
                repositoryRoot().resolve("cuda/src/test/c/" + source + ".c").toString()));
        command.addAll(List.of(flags));
        Process gcc;
        try {
            gcc = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException noGcc) {
            assumeTrue(false, "gcc is not on the PATH: the stand-in " + source + " cannot be built");
            throw noGcc;
        }
        String output = new String(gcc.getInputStream().readAllBytes());
        assertThat(gcc.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(gcc.exitValue()).as(output).isZero();
        return library;
    }

    /** The CUDA toolkit's include directory (cuda.h), if this machine has one. */
    public static Optional<Path> cudaInclude() {
        return Stream.of(System.getenv("CUDA_HOME"), "/usr/local/cuda")
                .filter(Objects::nonNull)
                .map(home -> Path.of(home, "include"))
                .filter(dir -> Files.isRegularFile(dir.resolve("cuda.h")))
                .findFirst();
    }
}
