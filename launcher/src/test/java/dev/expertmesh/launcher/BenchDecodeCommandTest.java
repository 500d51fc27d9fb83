package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.demo.V2LiteShape;
import dev.expertmesh.launcher.Commands.Run;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.Quantization;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Percentage.withPercentage;

/** `bench decode` on two layers of V2-Lite's width, in this process and on a local cluster. */
class BenchDecodeCommandTest {
    private static final List<String> QUICK = List.of("bench", "decode", "--layers", "2", "--batch", "1,2", "--steps", "2",
            "--context", "8", "--warmup", "2", "--format", "json");

    @Test
    void inOneProcessEachBatchDecodesAndItsSplitFitsTheStep() throws Exception {
        JsonNode report = decode();
        assertDeviceAndExperts(report);
        assertRowsFitTheirSteps(List.of(report.get("rows").get(0), report.get("rows").get(1)));
        assertThat(report.get("rows")).hasSize(2);
        for (JsonNode row : report.get("rows")) {
            assertThat(row.get("deployment").asText()).isEqualTo("one process");
            assertThat(row.get("wireMs").asDouble()).isZero();
            assertThat(row.get("tokensPerSecondVsOneProcess").asDouble()).isEqualTo(1.0);
        }
        assertThat(report.get("warmUps")).hasSize(1);
        assertThat(report.get("warmUps").get(0).get("steps").asInt()).isEqualTo(2);
    }

    @Test
    void aLocalClusterRunsAfterOneProcessWithItsWireAndItsRatioAndTracesEachRowsLastStep(@TempDir Path dir) throws Exception {
        Path trace = dir.resolve("trace.json");
        JsonNode report = decode("--cluster", "--trace", trace.toString());
        assertDeviceAndExperts(report);
        JsonNode rows = report.get("rows");
        assertThat(rows).hasSize(4);
        List<JsonNode> oneProcess = List.of(rows.get(0), rows.get(1));
        List<JsonNode> cluster = List.of(rows.get(2), rows.get(3));
        assertRowsFitTheirSteps(oneProcess);
        assertRowsFitTheirSteps(cluster);
        for (int i = 0; i < 2; i++) {
            assertThat(oneProcess.get(i).get("deployment").asText()).isEqualTo("one process");
            assertThat(cluster.get(i).get("deployment").asText()).isEqualTo("local cluster");
            assertThat(cluster.get(i).get("wireMs").asDouble()).isPositive();
            assertThat(cluster.get(i).get("tokensPerSecondVsOneProcess").asDouble()).isCloseTo(
                    cluster.get(i).get("tokensPerSecond").asDouble() / oneProcess.get(i).get("tokensPerSecond").asDouble(), withPercentage(1e-6));
        }
        List<String> processes = new ArrayList<>();
        for (JsonNode e : new ObjectMapper().readTree(trace.toFile()).get("traceEvents")) {
            if (e.get("name").asText().equals("process_name")) {
                processes.add(e.get("args").get("name").asText());
            }
        }
        assertThat(processes).containsExactly("one process, none, batch 1", "one process, none, batch 2", "local cluster, none, batch 1",
                "local cluster, none, batch 2");
    }

    @Test
    void anUnwritableTraceIsAClearError(@TempDir Path dir) {
        Path trace = dir.resolve("missing").resolve("trace.json");
        Run r = Commands.run(withQuick("--batch", "1", "--trace", trace.toString()));
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.err().strip()).startsWith("error: --trace " + trace + ": cannot write:");
    }

    @Test
    void eachFormatHasARowPerBatchAndItsExpertsBytes() throws Exception {
        JsonNode report = decode("--quantize", "int8");
        JsonNode experts = report.get("experts");
        assertThat(experts).hasSize(2);
        assertThat(experts.get(0).get("format").asText()).isEqualTo("none");
        assertThat(experts.get(1).get("format").asText()).isEqualTo("int8");
        long bf16 = experts.get(0).get("bytes").asLong();
        long int8 = experts.get(1).get("bytes").asLong();
        ModelConfig shape = V2LiteShape.withLayers(2);
        long hidden = shape.hiddenSize();
        long intermediate = shape.moeIntermediateSize();
        // gate and up [intermediate, hidden], down [hidden, intermediate]; INT8 keeps a byte and, per output row, an fp32 scale
        assertThat(bf16).isEqualTo(3 * hidden * intermediate * 2);
        assertThat(int8).isEqualTo(3 * hidden * intermediate + 4 * (2 * intermediate + hidden));
        assertThat(experts.get(1).get("vsNone").asDouble()).isEqualTo((double) int8 / bf16);
        JsonNode rows = report.get("rows");
        assertThat(rows).hasSize(4);
        assertThat(report.get("warmUps")).extracting(w -> w.get("format").asText()).containsExactly("none", "int8");
        List<String> formats = new ArrayList<>();
        rows.forEach(row -> formats.add(row.get("format").asText() + "@" + row.get("batch").asInt()));
        assertThat(formats).containsExactly("none@1", "none@2", "int8@1", "int8@2");
        for (int i = 0; i < 2; i++) {
            JsonNode none = rows.get(i);
            JsonNode quantized = rows.get(i + 2);
            assertThat(none.get("tokensPerSecondVsNone").asDouble()).isEqualTo(1.0);
            assertThat(quantized.get("tokensPerSecondVsNone").asDouble())
                    .isCloseTo(quantized.get("tokensPerSecond").asDouble() / none.get("tokensPerSecond").asDouble(), withPercentage(1e-6));
            assertThat(quantized.get("weightGbPerStep").asDouble()).isPositive().isLessThan(none.get("weightGbPerStep").asDouble());
        }
    }

    @Test
    void microBatchesWithoutAClusterIsAClearError() {
        Run r = Commands.run(withQuick("--micro-batches", "2"));
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("error: --micro-batches 2 splits a cluster's steps: add --cluster (one process runs each step as one)");
    }

    @Test
    void anUnknownFormatIsAClearError() {
        Run unknown = Commands.run(withQuick("--quantize", "int8,int3"));
        assertThat(unknown.exitCode()).isEqualTo(2);
        assertThat(unknown.err().strip()).isEqualTo("error: --quantize int3: choose one of " + Quantization.choices());
    }

    private static String[] withQuick(String... more) {
        List<String> args = new ArrayList<>(QUICK);
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    private static JsonNode decode(String... more) throws Exception {
        Run r = Commands.run(withQuick(more));
        assertThat(r.exitCode()).as(r.err()).isZero();
        return new ObjectMapper().readTree(r.out());
    }

    private static void assertDeviceAndExperts(JsonNode report) {
        assertThat(report.get("device").asText()).isEqualTo("cpu");
        assertThat(report.get("bandwidth").get("gbPerSecond").asDouble()).isPositive();
        assertThat(report.get("experts")).hasSize(1);
    }

    /** A batch of 1 then 2, each in one micro-batch, so that the parts of the split add up to at most the step. */
    private static void assertRowsFitTheirSteps(List<JsonNode> rows) {
        assertThat(rows).hasSize(2);
        for (int i = 0; i < rows.size(); i++) {
            JsonNode row = rows.get(i);
            int batch = i + 1;
            assertThat(row.get("batch").asInt()).isEqualTo(batch);
            double stepMs = row.get("stepMs").asDouble();
            assertThat(row.get("tokensPerSecond").asDouble()).isPositive().isCloseTo(batch * 1000 / stepMs, withPercentage(1e-6));
            double split = row.get("attentionMs").asDouble() + row.get("expertsMs").asDouble() + row.get("wireMs").asDouble();
            assertThat(row.get("attentionMs").asDouble()).isPositive();
            assertThat(row.get("expertsMs").asDouble()).isPositive();
            assertThat(split).isLessThanOrEqualTo(stepMs);
            assertThat(row.get("weightGbPerStep").asDouble()).isPositive();
        }
    }
}
