package dev.expertmesh.quantization;

import dev.expertmesh.Fixtures;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.model.ModelConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class QuantizationPlanTest {
    /**
     * Measured: at most 1.1e-6 relative over the fixtures, prompts and both plans (scale·q rounded to
     * fp32 in the reference, against the kernel's scale applied once to a row's sum); the unquantized
     * engine is 5.4e-3 to 0.13 away from the reference.
     */
    private static final double LOGITS_TOLERANCE = 1e-5;

    @Test
    void attentionAndDenseMlpsAreQuantizedOnlyWhenAsked() {
        assertThat(QuantizationPlan.of(Quantization.INT8, false)).isEqualTo(new QuantizationPlan(Quantization.INT8, Quantization.NONE));
        assertThat(QuantizationPlan.of(Quantization.INT8, true)).isEqualTo(new QuantizationPlan(Quantization.INT8, Quantization.INT8));
        assertThat(QuantizationPlan.of(Quantization.NONE, false)).isEqualTo(QuantizationPlan.NONE);
    }

    @Test
    void quantizeAttentionWithoutAFormatIsRefusedWithTheChoices() {
        assertThatThrownBy(() -> QuantizationPlan.of(Quantization.NONE, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--quantize-attention")
                .hasMessageContaining(Quantization.choices());
    }

    static Stream<Arguments> plans() {
        return Stream.of(Fixtures.MODELS).flatMap(model -> Stream.of(false, true).map(attention -> Arguments.of(model, attention)));
    }

    /**
     * The engine quantizes exactly what its plan names: its logits are the unquantized engine's over
     * a checkpoint with those matrices (and only those) replaced by their dequantized values. A
     * quantized router, embedding or lm_head, or a matrix the plan names left as it was, would part
     * from the reference by far more than the tolerance, as the unquantized engine does.
     */
    @ParameterizedTest(name = "{0}, attention and dense quantized: {1}")
    @MethodSource("plans")
    void theEngineQuantizesWhatThePlanNamesAndNothingElse(String model, boolean withAttention) {
        Path dir = Fixtures.model(model);
        ModelConfig config = ModelConfig.load(dir);
        QuantizationPlan plan = QuantizationPlan.of(Quantization.INT8, withAttention);
        try (Engine quantized = Engine.create(config, Checkpoint.open(dir), new CpuBackend(), model, plan);
             Engine reference = Engine.create(config, new DequantizedWeights(Checkpoint.open(dir), plan), new CpuBackend(), model,
                     QuantizationPlan.NONE);
             Engine unquantized = Engine.load(dir, new CpuBackend());
             var golden = Fixtures.golden(model)) {
            for (int p = 0; p < 4; p++) {
                int[] ids = golden.ints("p" + p + ".input_ids");
                float[] expected = reference.score(ids, LayerObserver.NONE);
                float[] actual = quantized.score(ids, LayerObserver.NONE);
                assertThat(Fixtures.relativeError(actual, expected)).as("%s p%d logits", model, p).isLessThan(LOGITS_TOLERANCE);
                assertThat(Fixtures.relativeError(unquantized.score(ids, LayerObserver.NONE), expected))
                        .as("%s p%d: the plan changed the logits", model, p).isGreaterThan(10 * LOGITS_TOLERANCE);
            }
        }
    }
}
