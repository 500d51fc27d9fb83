package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.demo.V2LiteShape;
import dev.expertmesh.launcher.Commands.Run;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.Quantization;
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
    void anUnknownFormatIsAClearError() {
        Run unknown = Commands.run(withQuick("--quantize", "int8,int3"));
        assertThat(unknown.exitCode()).isEqualTo(2);
        assertThat(unknown.err().strip()).isEqualTo("error: --quantize int3: choose one of " + Quantization.choices());
    }

    private static JsonNode decode(boolean cluster) throws Exception {
        return cluster ? decode("--cluster") : decode();
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

    private static void assertRowsFitTheirSteps(JsonNode report) {
        assertThat(report.get("device").asText()).isEqualTo("cpu");
        assertThat(report.get("copyGbPerSecond").asDouble()).isPositive();
        JsonNode rows = report.get("rows");
        assertThat(rows).hasSize(2);
        assertThat(report.get("experts")).hasSize(1);
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
