package dev.expertmesh.moe;

import dev.expertmesh.Fixtures;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.Quantization;
import dev.expertmesh.quantization.QuantizationPlan;
import dev.expertmesh.tensor.WeightFormat;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** An expert worker's experts on the CPU, quantized, placement after placement. */
class LocalExpertLoaderTest {
    private static final String MODEL = "tiny-v2-lite";
    private static final QuantizationPlan INT8_EXPERTS = QuantizationPlan.of(Quantization.INT8, false);

    @Test
    void onlyTheHostedExpertsAreLoadedQuantizedBesideTheSharedOnesAndTheDenseMlpAsThePlanSays() {
        Path dir = Fixtures.model(MODEL);
        ModelConfig config = ModelConfig.load(dir);
        int layer = config.firstKDenseReplace();
        try (TensorSource weights = Checkpoint.open(dir); Arena arena = Arena.ofShared();
             LocalExpertLoader loader = new LocalExpertLoader(weights, config, new CpuBackend(), arena, INT8_EXPERTS)) {
            LocalExpertStage stage = (LocalExpertStage) loader.load(Map.of(layer, new int[]{1, 4}));
            for (int id = 0; id < config.nRoutedExperts(); id++) {
                assertThat(stage.expert(layer, id).isPresent()).as("routed expert %d loaded", id).isEqualTo(id == 1 || id == 4);
            }
            assertThat(stage.expert(layer, 1).orElseThrow().down().format()).isInstanceOf(WeightFormat.Int8PerChannel.class);
            assertThat(stage.expert(layer, config.nRoutedExperts()).orElseThrow().gate().format())
                    .as("shared expert").isInstanceOf(WeightFormat.Int8PerChannel.class);
            assertThat(stage.expert(0, 0).orElseThrow().up().format()).as("dense MLP without --quantize-attention")
                    .isEqualTo(new WeightFormat.Bf16());
        }
    }

    @Test
    void aNewPlacementKeepsTheExpertsItSharesFreesTheOthersAndComputesAsAFreshLoad() {
        Path dir = Fixtures.model(MODEL);
        ModelConfig config = ModelConfig.load(dir);
        int layer = config.firstKDenseReplace();
        try (TensorSource weights = Checkpoint.open(dir); Arena arena = Arena.ofShared();
             LocalExpertLoader loader = new LocalExpertLoader(weights, config, new CpuBackend(), arena, INT8_EXPERTS)) {
            LocalExpertStage first = (LocalExpertStage) loader.load(Map.of(layer, new int[]{0, 1, 2}));
            Expert dropped = first.expert(layer, 0).orElseThrow();
            Expert kept = first.expert(layer, 2).orElseThrow();
            LocalExpertStage second = (LocalExpertStage) loader.load(Map.of(layer, new int[]{2, 3}));
            assertThat(second.expert(layer, 2)).as("quantized once, kept").containsSame(kept);
            assertThat(dropped.gate().data().scope().isAlive()).as("dropped expert's memory").isFalse();
            assertThat(second.expert(layer, 0)).isEmpty();

            LocalExpertStage fresh = LocalExpertStage.load(weights, config, new CpuBackend(), arena, Map.of(layer, new int[]{2, 3}),
                    INT8_EXPERTS);
            float[] x = random(3 * config.hiddenSize());
            ExpertRoutes routes = new ExpertRoutes(3, 2, new int[]{2, 3, 3, 2, 2, 3}, new float[]{0.7f, 0.3f, 0.6f, 0.4f, 0.5f, 0.5f});
            assertThat(second.forward(layer, 0, x, routes)).containsExactly(fresh.forward(layer, 0, x, routes));
        }
    }

    @Test
    void anIdOutsideTheLayerIsRefusedBeforeAnythingChanges() {
        Path dir = Fixtures.model(MODEL);
        ModelConfig config = ModelConfig.load(dir);
        int layer = config.firstKDenseReplace();
        try (TensorSource weights = Checkpoint.open(dir); Arena arena = Arena.ofShared();
             LocalExpertLoader loader = new LocalExpertLoader(weights, config, new CpuBackend(), arena, INT8_EXPERTS)) {
            Expert held = ((LocalExpertStage) loader.load(Map.of(layer, new int[]{5}))).expert(layer, 5).orElseThrow();
            assertThatThrownBy(() -> loader.load(Map.of(layer, new int[]{config.nRoutedExperts()})))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("layer " + layer + " has routed experts 0.." + (config.nRoutedExperts() - 1) + ", not " + config.nRoutedExperts());
            assertThat(held.gate().data().scope().isAlive()).as("the held expert survives a refused placement").isTrue();
        }
    }

    private static float[] random(int n) {
        SplittableRandom random = new SplittableRandom(14);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextDouble(-1, 1);
        }
        return x;
    }
}
