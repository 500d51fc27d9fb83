package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.launcher.Commands.Run;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Percentage.withPercentage;

/** `bench decode` on two layers of V2-Lite's width, in this process and on a local cluster. */
class BenchDecodeCommandTest {
    private static final List<String> QUICK = List.of("bench", "decode", "--layers", "2", "--batch", "1,2", "--steps", "2",
            "--context", "8", "--format", "json");

    @Test
    void inOneProcessEachBatchDecodesAndItsSplitFitsTheStep() throws Exception {
        JsonNode report = decode(false);
        assertThat(report.get("deployment").asText()).isEqualTo("one process");
        assertRowsFitTheirSteps(report);
        for (JsonNode row : report.get("rows")) {
            assertThat(row.get("transportMs").asDouble()).isZero();
        }
    }

    @Test
    void onALocalClusterTransportIsPartOfTheSplit() throws Exception {
        JsonNode report = decode(true);
        assertThat(report.get("deployment").asText()).isEqualTo("local cluster");
        assertRowsFitTheirSteps(report);
        for (JsonNode row : report.get("rows")) {
            assertThat(row.get("transportMs").asDouble()).isPositive();
        }
    }

    private static JsonNode decode(boolean cluster) throws Exception {
        List<String> args = new ArrayList<>(QUICK);
        if (cluster) {
            args.add("--cluster");
        }
        Run r = Commands.run(args.toArray(String[]::new));
        assertThat(r.exitCode()).as(r.err()).isZero();
        return new ObjectMapper().readTree(r.out());
    }

    private static void assertRowsFitTheirSteps(JsonNode report) {
        assertThat(report.get("device").asText()).isEqualTo("cpu");
        assertThat(report.get("copyGbPerSecond").asDouble()).isPositive();
        JsonNode rows = report.get("rows");
        assertThat(rows).hasSize(2);
        for (int i = 0; i < rows.size(); i++) {
            JsonNode row = rows.get(i);
            int batch = i + 1;
            assertThat(row.get("batch").asInt()).isEqualTo(batch);
            double stepMs = row.get("stepMs").asDouble();
            assertThat(row.get("tokensPerSecond").asDouble()).isPositive().isCloseTo(batch * 1000 / stepMs, withPercentage(1e-6));
            double split = row.get("attentionMs").asDouble() + row.get("expertsMs").asDouble() + row.get("transportMs").asDouble();
            assertThat(row.get("attentionMs").asDouble()).isPositive();
            assertThat(row.get("expertsMs").asDouble()).isPositive();
            assertThat(split).isLessThanOrEqualTo(stepMs);
            assertThat(row.get("weightGbPerStep").asDouble()).isPositive();
        }
    }
}
