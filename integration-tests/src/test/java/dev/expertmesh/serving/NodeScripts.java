package dev.expertmesh.serving;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The scripts of integration-tests/src/test/node, which drive the HTTP API through the real
 * {@code openai} npm package (installed by {@code npm ci --prefix integration-tests/src/test/node},
 * which CI runs when npm is there).
 */
final class NodeScripts {
    private static final Path DIR = Path.of("src", "test", "node");

    private NodeScripts() {
    }

    /** Skips the calling test, saying why, unless node runs and the openai package is installed. */
    static void assumeAvailable() {
        assumeTrue(nodeRuns(), "node is not on the PATH: install Node.js 20 or later to run the openai client test");
        assumeTrue(Files.isDirectory(DIR.resolve("node_modules/openai")),
                "the openai package is not installed: run npm ci --prefix integration-tests/src/test/node");
    }

    /** The script's standard output; its stderr and exit status are in the failure message when it fails. */
    static String run(String script, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("node", script));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).directory(DIR.toFile()).start();
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
        String out = read(p.getInputStream());
        assertThat(p.waitFor(180, TimeUnit.SECONDS)).as("the client finished").isTrue();
        assertThat(p.exitValue()).as("the client's exit status; stdout:%n%s%nstderr:%n%s", out, err.get()).isZero();
        return out;
    }

    private static String read(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean nodeRuns() {
        try {
            Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
