package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** `bench serve` against `expertmesh local` on a fixture model, in a process of its own as users run it. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BenchServeCommandTest {
    private static final String MODEL = "tiny-v2-lite";
    private static final int PROMPTS = 6;

    private Process local;
    private String address;

    private record Run(int exitCode, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cmd = ExpertMesh.commandLine();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int code = cmd.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @BeforeAll
    void startLocalCluster() throws Exception {
        int port = freePort();
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(jvmOptions());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), ExpertMesh.class.getName(),
                "local", "--model", Fixtures.model(MODEL).toString(), "--port", String.valueOf(port)));
        local = new ProcessBuilder(command).redirectErrorStream(true).start();
        awaitServing(local);
        address = "127.0.0.1:" + port;
    }

    @AfterAll
    void stopLocalCluster() throws InterruptedException {
        if (local != null) {
            local.destroy();
            if (!local.waitFor(20, TimeUnit.SECONDS)) {
                local.destroyForcibly();
            }
        }
    }

    @Test
    void theTableReportsEveryRequestCompleted() {
        Run r = run("bench", "serve", "--coordinator", address, "--num-prompts", String.valueOf(PROMPTS), "--request-rate", "20",
                "--seed", "3", "--input-len", "8", "--input-len-range", "0.5", "--output-len", "4", "--output-len-range", "0.5");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("============ Serving Benchmark Result ============\n")
                .containsPattern("Successful requests: +" + PROMPTS + "\n")
                .containsPattern("Failed requests: +0\n")
                .contains("Median TTFT (ms):", "P99 TPOT (ms):", "P90 ITL (ms):", "Mean E2EL (ms):");
    }

    @Test
    void theJsonCountsThePromptAndOutputTokensAsked(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("result.json");
        Run r = run("bench", "serve", "--coordinator", address, "--num-prompts", String.valueOf(PROMPTS), "--request-rate", "inf",
                "--input-len", "6", "--output-len", "5", "--max-concurrency", "4", "--format", "json", "--output", file.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode json = new ObjectMapper().readTree(r.out());
        assertThat(json.get("completed").asInt()).isEqualTo(PROMPTS);
        assertThat(json.get("failed").asInt()).isZero();
        // ignore_eos: every request generates exactly the output length asked.
        assertThat(json.get("total_input_tokens").asLong()).isEqualTo(PROMPTS * 6L);
        assertThat(json.get("total_output_tokens").asLong()).isEqualTo(PROMPTS * 5L);
        assertThat(json.get("request_rate").asText()).isEqualTo("inf");
        assertThat(json.get("max_concurrency").asInt()).isEqualTo(4);
        double duration = json.get("duration").asDouble();
        assertThat(json.get("output_throughput").asDouble()).isCloseTo(PROMPTS * 5 / duration, org.assertj.core.api.Assertions.within(1e-6));
        assertThat(json.get("median_ttft_ms").asDouble()).isPositive();
        assertThat(json.get("p99_e2el_ms").asDouble()).isGreaterThanOrEqualTo(json.get("p99_ttft_ms").asDouble());
        assertThat(new ObjectMapper().readTree(Files.readString(file))).isEqualTo(json);
    }

    @Test
    void anUnreachableCoordinatorIsOneLine() throws IOException {
        Run r = run("bench", "serve", "--coordinator", "127.0.0.1:" + freePort(), "--num-prompts", "1");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("error: cannot reach the coordinator at 127.0.0.1:").doesNotContain("Exception");
    }

    /** Waits for local's "... Ctrl-C stops it" line, then keeps reading its output so it never blocks on a full pipe. */
    private static void awaitServing(Process p) throws Exception {
        var reader = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<Void> ready = CompletableFuture.runAsync(() -> {
            StringBuilder seen = new StringBuilder();
            try {
                for (String line; (line = reader.readLine()) != null; ) {
                    if (line.contains("Ctrl-C stops it")) {
                        drain(reader);
                        return;
                    }
                    seen.append(line).append('\n');
                }
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
            throw new IllegalStateException("local ended before it was serving:\n" + seen);
        });
        ready.get(90, TimeUnit.SECONDS);
    }

    private static void drain(BufferedReader reader) {
        Thread.ofVirtual().start(() -> {
            try {
                while (reader.readLine() != null) {
                    // discarded: the test reads what it needs through the API
                }
            } catch (IOException ignored) {
                // the process ended
            }
        });
    }

    private static List<String> jvmOptions() throws IOException {
        Path file = Path.of(System.getProperty("expertmesh.testdata")).getParent().resolve("jvm.options");
        return Files.readAllLines(file).stream().map(String::strip).filter(l -> !l.isEmpty()).toList();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
