package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.Fixtures;
import dev.expertmesh.launcher.Commands.Run;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The cluster as users start it: `local` in one process, and each role in a process of its own. */
class ClusterCommandsTest {
    static int[] tokenIds(String json) throws IOException {
        JsonNode ids = new ObjectMapper().readTree(json).get("token_ids");
        int[] out = new int[ids.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ids.get(i).asInt();
        }
        return out;
    }

    @Test
    void aLocalClusterGeneratesTheGreedyTokensOfTransformers() throws Exception {
        try (var golden = Fixtures.golden("tiny-v2-lite")) {
            int[] expected = golden.ints("p1.greedy_tokens");
            Run r = Commands.run("local", "--model", Fixtures.model("tiny-v2-lite").toString(), "--expert-workers", "2",
                    "--attention-workers", "2", "--transport", "fp32", "--http-port", "0",
                    "--prompt-ids", Output.commaSeparated(golden.ints("p1.input_ids")),
                    "--max-tokens", String.valueOf(expected.length), "--format", "json");
            assertThat(r.exitCode()).as(r.err()).isZero();
            assertThat(tokenIds(r.out())).containsExactly(expected);
            assertThat(r.err()).contains("local cluster ready").contains("2 expert workers, 2 attention workers");
        }
    }

    @Test
    void aLocalClusterWithInt8ExpertsGeneratesTheTokensOfTheSingleProcessEngineWithInt8Experts() throws Exception {
        try (var golden = Fixtures.golden("tiny-v2-lite")) {
            String model = Fixtures.model("tiny-v2-lite").toString();
            String prompt = Output.commaSeparated(golden.ints("p1.input_ids"));
            String tokens = String.valueOf(golden.ints("p1.greedy_tokens").length);
            Run alone = Commands.run("generate", "--model", model, "--quantize", "int8", "--prompt-ids", prompt, "--max-tokens", tokens,
                    "--format", "json");
            assertThat(alone.exitCode()).as(alone.err()).isZero();
            Run cluster = Commands.run("local", "--model", model, "--quantize", "int8", "--expert-workers", "2", "--transport", "fp32",
                    "--http-port", "0", "--prompt-ids", prompt, "--max-tokens", tokens, "--format", "json");
            assertThat(cluster.exitCode()).as(cluster.err()).isZero();
            assertThat(tokenIds(cluster.out())).containsExactly(tokenIds(alone.out()));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"eplb-global", "eplb-hierarchical", "memory-weighted"})
    void everyPlacementPolicyWithReplicasGivesTheGreedyTokensOfTransformers(String placement) throws Exception {
        try (var golden = Fixtures.golden("tiny-v2-lite")) {
            int[] expected = golden.ints("p2.greedy_tokens");
            Run r = Commands.run("local", "--model", Fixtures.model("tiny-v2-lite").toString(), "--expert-workers", "2",
                    "--placement", placement, "--redundant-experts", "4", "--transport", "fp32", "--http-port", "0",
                    "--prompt-ids", Output.commaSeparated(golden.ints("p2.input_ids")),
                    "--max-tokens", String.valueOf(expected.length), "--format", "json");
            assertThat(r.exitCode()).as(r.err()).isZero();
            assertThat(tokenIds(r.out())).as(placement).containsExactly(expected);
        }
    }

    @Test
    void eachRoleInItsOwnProcessServesGenerateAndStatus() throws Exception {
        String model = Fixtures.model("tiny-v3").toString();
        int hazelcast = Commands.freePort();
        int grpc = Commands.freePort();
        String cluster = "expertmesh-test-" + hazelcast;
        List<String> common = List.of("--model", model, "--cluster-name", cluster, "--host", "127.0.0.1");
        List<Process> processes = new ArrayList<>();
        try {
            Process coordinator = start(processes, "coordinator", common, "--hazelcast-port", String.valueOf(hazelcast),
                    "--port", String.valueOf(grpc), "--http-port", "0", "--transport", "fp32");
            Commands.awaitReadyLine(coordinator);
            String join = "127.0.0.1:" + hazelcast;
            int dataPort = Commands.freePort();
            List<Process> workers = List.of(
                    start(processes, "attention-worker", common, "--members", join, "--hazelcast-port", String.valueOf(hazelcast + 1)),
                    start(processes, "expert-worker", common, "--members", join, "--hazelcast-port", String.valueOf(hazelcast + 1)),
                    start(processes, "expert-worker", common, "--members", join, "--hazelcast-port", String.valueOf(hazelcast + 1),
                            "--data-port", String.valueOf(dataPort)));
            for (Process p : workers) {
                Commands.awaitReadyLine(p);
            }
            String address = "127.0.0.1:" + grpc;
            JsonNode status = awaitStatus(address, 2);
            assertThat(status.get("members")).hasSize(4);
            List<Integer> dataPorts = new ArrayList<>();
            for (JsonNode member : status.get("members")) {
                if (member.get("role").asText().equals("expert-worker")) {
                    assertThat(member.get("expert_quantization").asText()).isEqualTo("none");
                    assertThat(member.get("attention_and_dense_quantization").asText()).isEqualTo("none");
                }
                if (!member.get("role").asText().equals("coordinator")) {
                    dataPorts.add(member.get("data_port").asInt());
                }
            }
            assertThat(dataPorts).as("every worker's data plane, one on the port given").hasSize(3).doesNotContain(0).contains(dataPort);
            assertThat(status.get("epoch").asLong()).isPositive();

            int forwarded;
            try (var golden = Fixtures.golden("tiny-v3")) {
                int[] prompt = golden.ints("p2.input_ids");
                int[] expected = golden.ints("p2.greedy_tokens");
                Run r = Commands.run("generate", "--coordinator", address, "--prompt-ids", Output.commaSeparated(prompt),
                        "--max-tokens", String.valueOf(expected.length), "--format", "json");
                assertThat(r.exitCode()).as(r.err()).isZero();
                assertThat(tokenIds(r.out())).containsExactly(expected);
                // The prompt, then every generated token but the last, went through the model.
                forwarded = prompt.length + expected.length - 1;
            }
            JsonNode after = new ObjectMapper().readTree(Commands.run("status", "--coordinator", address, "--format", "json").out());
            long routed = 0;
            long window = 0;
            for (JsonNode e : after.get("experts")) {
                routed += e.get("tokens_routed").asLong();
                window += e.get("window_tokens").asLong();
            }
            // tiny-v3: layers 2 and 3 are MoE layers, each sending a token to 4 routed experts.
            assertThat(routed).isEqualTo(forwarded * 2L * 4);
            assertThat(window).as("the window holds every step so far").isEqualTo(routed);
            assertThat(after.get("window_steps").asLong()).isPositive();
            assertThat(after.get("layer_loads")).hasSize(2);
            long workersLoad = 0;
            for (JsonNode tokens : after.get("workers_load")) {
                workersLoad += tokens.asLong();
            }
            assertThat(workersLoad).as("every routed slot ran on an expert worker").isEqualTo(routed);
            assertThat(Commands.run("status", "--coordinator", address).out())
                    .contains("experts none, dense none").contains("attention none")
                    .contains("busiest over the last " + after.get("window_steps").asLong() + " steps: ")
                    .containsPattern("layer 2: max \\d+, mean [\\d.]+ tokens per expert worker \\(balancedness [\\d.]+\\)");
        } finally {
            Commands.stop(processes);
        }
    }

    /** Polls status until the shard map places experts on {@code expertWorkers} workers that have loaded it. */
    private static JsonNode awaitStatus(String address, int expertWorkers) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            Run r = Commands.run("status", "--coordinator", address, "--format", "json");
            last = r.out() + r.err();
            if (r.exitCode() == 0) {
                JsonNode status = new ObjectMapper().readTree(r.out());
                long epoch = status.get("epoch").asLong();
                long loaded = 0;
                for (JsonNode m : status.get("members")) {
                    if (m.get("role").asText().equals("expert-worker") && m.get("loaded_epoch").asLong() == epoch && epoch > 0) {
                        loaded++;
                    }
                }
                if (loaded == expertWorkers) {
                    return status;
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the cluster did not become ready within 60 s; last status: " + last);
    }

    private static Process start(List<Process> processes, String role, List<String> common, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(role));
        command.addAll(common);
        command.addAll(List.of(args));
        Process p = Commands.start(command);
        processes.add(p);
        return p;
    }
}
