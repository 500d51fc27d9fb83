package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.launcher.Commands.Run;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** balance plan as a user runs it, against deepseek-ai/EPLB's answer for one of its golden cases. */
class BalancePlanCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A golden case, loads and answers in one file: the command reads its "weight" and ignores the rest. */
    private static Path goldenCase(Path dir) throws Exception {
        Path file = dir.resolve("loads.json");
        try (InputStream in = BalancePlanCommandTest.class.getResourceAsStream("/eplb/hierarchical-case.json")) {
            Files.copy(in, file);
        }
        return file;
    }

    @Test
    void jsonIsEplbsPlanOnOneLine(@TempDir Path tmp) throws Exception {
        Path loads = goldenCase(tmp);
        JsonNode golden = JSON.readTree(loads.toFile());

        Run r = Commands.run("balance", "plan", "--loads", loads.toString(), "--replicas", golden.get("num_replicas").asText(),
                "--groups", golden.get("num_groups").asText(), "--nodes", golden.get("num_nodes").asText(),
                "--gpus", golden.get("num_gpus").asText(), "--format", "json");

        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out().strip()).doesNotContain("\n");
        JsonNode plan = JSON.readTree(r.out());
        assertThat(plan.properties()).extracting(e -> e.getKey()).containsExactly("phy2log", "log2phy", "logcnt");
        assertThat(plan.get("phy2log")).isEqualTo(golden.get("phy2log"));
        assertThat(plan.get("log2phy")).isEqualTo(golden.get("log2phy"));
        assertThat(plan.get("logcnt")).isEqualTo(golden.get("logcnt"));
    }

    @Test
    void textShowsEachLayersGpusWithTheirExperts(@TempDir Path tmp) throws Exception {
        Run r = Commands.run("balance", "plan", "--loads", goldenCase(tmp).toString(), "--replicas", "80", "--groups", "8",
                "--nodes", "2", "--gpus", "8");

        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("hierarchical policy: 64 experts on 80 replicas, 8 GPUs on 2 nodes")
                .contains("layer 0: max/mean GPU load", "layer 2: max/mean GPU load")
                .containsPattern("(?m)^  7 +1 +\\d+ +(\\d+,){9}\\d+$");
    }

    @Test
    void replicasThatDoNotSplitAmongTheGpusAreOneLineWithTheFix(@TempDir Path tmp) throws Exception {
        Run r = Commands.run("balance", "plan", "--loads", goldenCase(tmp).toString(), "--replicas", "81", "--gpus", "8", "--format", "json");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo("error: 81 replicas do not split evenly among 8 GPUs (use a multiple of 8 replicas)" + System.lineSeparator());
    }

    @Test
    void malformedLoadsAreOneLineWithTheFormat(@TempDir Path tmp) throws Exception {
        Path loads = Files.writeString(tmp.resolve("loads.json"), "{\"weight\": [[1, 2], [3, 4]");

        Run r = Commands.run("balance", "plan", "--loads", loads.toString(), "--replicas", "2", "--gpus", "1");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).startsWith("error: " + loads + ": not JSON: ")
                .endsWith("(give a JSON file {\"weight\": [[...], ...]}, one row of expert loads per MoE layer)" + System.lineSeparator())
                .hasLineCount(1);
    }
}
