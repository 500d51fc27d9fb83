package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.Fixtures;
import dev.expertmesh.launcher.Commands.Run;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** `bench serve` against `expertmesh local` on a fixture model, in a process of its own as users run it. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BenchServeCommandTest {
    private static final String MODEL = "tiny-v2-lite";
    private static final int PROMPTS = 6;

    private Process local;
    private String address;

    @BeforeAll
    void startLocalCluster() throws Exception {
        local = Commands.start(List.of("local", "--model", Fixtures.model(MODEL).toString(), "--port", "0", "--http-port", "0"));
        address = "127.0.0.1:" + Commands.awaitReadyLine(local);
    }

    @AfterAll
    void stopLocalCluster() throws InterruptedException {
        if (local != null) {
            Commands.stop(List.of(local));
        }
    }

    @Test
    void theTableReportsEveryRequestCompleted() {
        Run r = Commands.run("bench", "serve", "--coordinator", address, "--num-prompts", String.valueOf(PROMPTS), "--request-rate", "20",
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
        Run r = Commands.run("bench", "serve", "--coordinator", address, "--num-prompts", String.valueOf(PROMPTS), "--request-rate", "inf",
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
    void windowsSplitTheRunAndAccountForEveryRequest() throws Exception {
        Run r = Commands.run("bench", "serve", "--coordinator", address, "--num-prompts", String.valueOf(PROMPTS), "--request-rate", "10",
                "--input-len", "6", "--output-len", "4", "--window", "0.5", "--format", "json");
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode json = new ObjectMapper().readTree(r.out());
        JsonNode windows = json.get("windows");
        assertThat(windows.size()).isEqualTo((int) Math.ceil(json.get("duration").asDouble() / 0.5));
        int completed = 0;
        for (JsonNode w : windows) {
            completed += w.get("completed").asInt();
            assertThat(w.get("end").asDouble()).isGreaterThan(w.get("start").asDouble());
        }
        assertThat(completed).isEqualTo(PROMPTS);
        assertThat(windows.get(windows.size() - 1).get("end").asDouble()).isEqualTo(json.get("duration").asDouble());
    }

    @Test
    void anUnreachableCoordinatorIsOneLine() throws IOException {
        Run r = Commands.run("bench", "serve", "--coordinator", "127.0.0.1:" + Commands.freePort(), "--num-prompts", "1");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("error: cannot reach the coordinator at 127.0.0.1:").doesNotContain("Exception");
    }
}
