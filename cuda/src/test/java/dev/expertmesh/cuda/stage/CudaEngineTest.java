package dev.expertmesh.cuda.stage;

import dev.expertmesh.Fixtures;
import dev.expertmesh.attention.LocalAttentionStage;
import dev.expertmesh.attention.SequenceChunk;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.cuda.GpuComparison;
import dev.expertmesh.cuda.runtime.Gpu;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.Generation;
import dev.expertmesh.engine.GenerationRequest;
import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.engine.TokenSink;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertRoutes;
import dev.expertmesh.moe.LocalExpertStage;
import dev.expertmesh.quantization.QuantizationPlan;
import dev.expertmesh.sampling.SamplingParams;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static dev.expertmesh.cuda.GpuComparison.LOGITS_TOLERANCE;
import static dev.expertmesh.cuda.GpuComparison.assumeAGpu;
import static dev.expertmesh.cuda.GpuComparison.decidedSteps;

/**
 * The GPU engine and its stages against the CPU engine and core's stages in the GPU's precision
 * (matrix products on bf16 activations, {@link Bf16GemmBackend}): what differs then is the GPU code
 * and its bf16 latent cache. Needs a CUDA device; cuda/gpu-check.sh runs it on the GPU machine, and
 * EmulatedGpuTest on host stand-ins of the CUDA libraries.
 */
@Tag("gpu")
class CudaEngineTest {
    private static final String[] PROMPTS = {"p0", "p1", "p2", "p3"};
    private static final String[] GREEDY_PROMPTS = {"p1", "p2"};
    /** One layer's attention (bf16 cache) moves its output by up to about 0.5% relative: the 1e-2 holds per layer. */
    private static final double STAGE_TOLERANCE = 1e-2;
    /** Expert outputs see the same bf16 inputs on both sides: only fp32 summation order differs. */
    private static final double EXPERT_TOLERANCE = 1e-4;

    /**
     * tiny-v3 is left out end to end: its sigmoid routing over random weights turns bf16 noise into
     * other experts (DistributedModelTest sees 5% on its logits from bf16 hidden vectors alone); its
     * stages are compared layer by layer below.
     */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-v2-lite", "tiny-v2"})
    void logitsAndGreedyTokensMatchTheCpuEngine(String name) {
        assumeAGpu();
        Path model = Fixtures.model(name);
        List<int[]> prompts = new ArrayList<>();
        List<GenerationRequest> greedy = new ArrayList<>();
        try (var golden = Fixtures.golden(name)) {
            for (String prompt : PROMPTS) {
                prompts.add(golden.ints(prompt + ".input_ids"));
            }
            for (String prompt : GREEDY_PROMPTS) {
                greedy.add(new GenerationRequest(golden.ints(prompt + ".input_ids"), SamplingParams.GREEDY,
                        golden.ints(prompt + ".greedy_tokens").length));
            }
        }
        try (Engine cpu = Engine.load(model, new Bf16GemmBackend()); Engine gpu = CudaEngines.load(model, 0)) {
            for (int[] prompt : prompts) {
                assertThat(Fixtures.relativeError(gpu.score(prompt, LayerObserver.NONE), cpu.score(prompt, LayerObserver.NONE)))
                        .as("%s, prompt of %d tokens", name, prompt.length).isLessThan(LOGITS_TOLERANCE);
            }
            List<Generation> expected = cpu.generate(greedy, TokenSink.NONE);
            List<Generation> actual = gpu.generate(greedy, TokenSink.NONE);
            for (int i = 0; i < greedy.size(); i++) {
                int[] tokens = expected.get(i).tokenIds();
                int decided = decidedSteps(cpu, gpu, greedy.get(i).promptIds(), tokens);
                assertThat(decided).as("%s %s: greedy steps whose top-1 margin exceeds the engines' difference", name,
                        GREEDY_PROMPTS[i]).isPositive();
                assertThat(Arrays.copyOf(actual.get(i).tokenIds(), decided)).as("%s %s greedy tokens", name, GREEDY_PROMPTS[i])
                        .containsExactly(Arrays.copyOf(tokens, decided));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-v2-lite", "tiny-v2", "tiny-v3"})
    void everyLayersStagesMatchCoresStages(String name) {
        assumeAGpu();
        Path dir = Fixtures.model(name);
        ModelConfig config = ModelConfig.load(dir);
        int rows = 7;
        Random random = new Random(1);
        try (TensorSource weights = Checkpoint.open(dir); Arena arena = Arena.ofShared(); Gpu gpu = Gpu.open(0);
             CudaAttentionStage gpuAttention = CudaAttentionStage.load(gpu, weights, config, arena, QuantizationPlan.NONE, 4, 64);
             CudaExpertStage gpuExperts = CudaExpertStage.load(gpu, weights, config, arena, QuantizationPlan.NONE)) {
            Bf16GemmBackend backend = new Bf16GemmBackend();
            LocalAttentionStage cpuAttention = LocalAttentionStage.load(weights, config, backend, arena, QuantizationPlan.NONE);
            LocalExpertStage cpuExperts = LocalExpertStage.load(weights, config, backend, arena, QuantizationPlan.NONE);
            for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
                // A prefill of `rows` tokens, then a decode step and a second prefill chunk together.
                List<List<SequenceChunk>> steps = List.of(List.of(new SequenceChunk(1, 0, rows)),
                        List.of(new SequenceChunk(1, rows, 1), new SequenceChunk(2, 0, 3), new SequenceChunk(3, 0, 1)));
                for (List<SequenceChunk> step : steps) {
                    int stepRows = step.stream().mapToInt(SequenceChunk::length).sum();
                    float[] hidden = gaussian(random, stepRows * config.hiddenSize());
                    assertThat(Fixtures.relativeError(attentionOnly(gpuAttention.forward(layer, 0, step, hidden), hidden),
                            attentionOnly(cpuAttention.forward(layer, 0, step, hidden), hidden)))
                            .as("%s layer %d attention of %s", name, layer, step).isLessThan(STAGE_TOLERANCE);
                }
                float[] x = gaussian(random, rows * config.hiddenSize());
                ExpertRoutes routes = randomRoutes(random, config, layer, rows);
                assertThat(Fixtures.relativeError(gpuExperts.forward(layer, 0, x, routes), cpuExperts.forward(layer, 0, x, routes)))
                        .as("%s layer %d experts", name, layer).isLessThan(EXPERT_TOLERANCE);
            }
        }
    }

    /** The stage's output less the residual it added. */
    private static float[] attentionOnly(float[] out, float[] hidden) {
        float[] attention = new float[out.length];
        for (int i = 0; i < out.length; i++) {
            attention[i] = out[i] - hidden[i];
        }
        return attention;
    }

    private static float[] gaussian(Random random, int n) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return values;
    }

    /** The layer's experts as the model routes: k distinct routed experts, an empty slot now and then, the shared expert. */
    private static ExpertRoutes randomRoutes(Random random, ModelConfig config, int layer, int rows) {
        if (!config.isMoeLayer(layer)) {
            return ExpertRoutes.everyToken(rows, 0);
        }
        int k = config.numExpertsPerTok();
        int[] ids = new int[rows * k];
        float[] weights = new float[rows * k];
        for (int r = 0; r < rows; r++) {
            int[] chosen = random.ints(0, config.nRoutedExperts()).distinct().limit(k).toArray();
            for (int j = 0; j < k; j++) {
                ids[r * k + j] = j == k - 1 && r % 3 == 0 ? -1 : chosen[j];
                weights[r * k + j] = random.nextFloat();
            }
        }
        ExpertRoutes routed = new ExpertRoutes(rows, k, ids, weights);
        return config.nSharedExperts() > 0 ? routed.plusEveryToken(config.nRoutedExperts()) : routed;
    }
}
