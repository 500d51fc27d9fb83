package dev.expertmesh.engine;

import dev.expertmesh.Fixtures;
import dev.expertmesh.attention.SequenceChunk;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.moe.ExpertRoutes;
import dev.expertmesh.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The CPU engine against transformers' float64 outputs on the three tiny DeepSeek checkpoints. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GoldenModelTest {
    private static final double LOGITS_TOLERANCE = 1e-5;
    private final Map<String, Engine> engines = new HashMap<>();

    static String[] models() {
        return Fixtures.MODELS;
    }

    @BeforeAll
    void load() {
        for (String m : Fixtures.MODELS) {
            engines.put(m, Engine.load(Fixtures.model(m), new CpuBackend()));
        }
    }

    @AfterAll
    void close() {
        engines.values().forEach(Engine::close);
    }

    @ParameterizedTest
    @MethodSource("models")
    void logitsAtEveryPositionOfEveryPromptMatchTransformers(String model) {
        Engine engine = engines.get(model);
        try (var golden = Fixtures.golden(model)) {
            for (int p = 0; p < 4; p++) {
                int[] ids = golden.ints("p" + p + ".input_ids");
                float[] logits = engine.score(ids, LayerObserver.NONE);
                float[] expected = golden.floats("p" + p + ".logits");
                assertThat(Fixtures.relativeError(logits, expected)).as("%s p%d logits", model, p).isLessThan(LOGITS_TOLERANCE);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void greedyDecodingWithTheCacheMatchesTransformers(String model) {
        Engine engine = engines.get(model);
        try (var golden = Fixtures.golden(model)) {
            for (String p : List.of("p1", "p2")) {
                int[] expected = golden.ints(p + ".greedy_tokens");
                Generation g = engine.generate(new GenerationRequest(golden.ints(p + ".input_ids"), SamplingParams.GREEDY, expected.length));
                assertThat(g.tokenIds()).as("%s %s greedy tokens", model, p).containsExactly(expected);
                assertThat(g.finishReason()).isEqualTo(FinishReason.LENGTH);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void generatingSeveralPromptsTogetherGivesEachItsOwnGreedyTokensAsTheyArrive(String model) {
        Engine engine = engines.get(model);
        try (var golden = Fixtures.golden(model)) {
            int[][] expected = {golden.ints("p1.greedy_tokens"), golden.ints("p2.greedy_tokens")};
            List<List<Integer>> streamed = List.of(new java.util.ArrayList<>(), new java.util.ArrayList<>());
            List<Generation> generations = engine.generate(List.of(
                    new GenerationRequest(golden.ints("p1.input_ids"), SamplingParams.GREEDY, expected[0].length),
                    new GenerationRequest(golden.ints("p2.input_ids"), SamplingParams.GREEDY, expected[1].length - 5)),
                    (request, token) -> streamed.get(request).add(token));
            assertThat(generations.get(0).tokenIds()).containsExactly(expected[0]);
            assertThat(generations.get(1).tokenIds()).containsExactly(Arrays.copyOf(expected[1], expected[1].length - 5));
            for (int i = 0; i < 2; i++) {
                assertThat(streamed.get(i)).containsExactly(Arrays.stream(generations.get(i).tokenIds()).boxed().toArray(Integer[]::new));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void routerChoicesAndHiddenStatesOfEveryLayerMatchTransformers(String model) {
        Engine engine = engines.get(model);
        int hidden = engine.config().hiddenSize();
        Map<Integer, ExpertRoutes> routes = new HashMap<>();
        Map<Integer, float[]> states = new HashMap<>();
        try (var golden = Fixtures.golden(model)) {
            int[] ids = golden.ints("p2.input_ids");
            engine.score(ids, new LayerObserver() {
                @Override
                public void hiddenStates(int layer, float[] h) {
                    states.put(layer, h.clone());
                }

                @Override
                public void routed(int layer, ExpertRoutes r) {
                    routes.put(layer, r);
                }
            });
            float[] expectedStates = golden.floats("p2.hidden_states");
            int perLayer = ids.length * hidden;
            int layers = engine.config().numHiddenLayers();
            assertThat(expectedStates).hasSize((layers + 1) * perLayer);
            for (int layer = -1; layer < layers; layer++) {
                // hidden_states[0] is the embedding output, [L + 1] layer L's output; transformers
                // reports the last layer's output after the final norm.
                int observed = layer == layers - 1 ? layers : layer;
                assertThat(Fixtures.relativeError(states.get(observed), 0, expectedStates, (layer + 1) * perLayer, perLayer))
                        .as("%s hidden states after layer %d", model, layer).isLessThan(LOGITS_TOLERANCE);
            }
            int moeLayers = 0;
            for (int layer = 0; layer < engine.config().numHiddenLayers(); layer++) {
                String name = "p2.layer" + layer + ".topk_ids";
                assertThat(routes.containsKey(layer)).as("layer %d routed", layer).isEqualTo(golden.has(name));
                if (!golden.has(name)) {
                    continue;
                }
                moeLayers++;
                int[] expectedIds = golden.ints(name);
                float[] expectedWeights = golden.floats("p2.layer" + layer + ".topk_weights");
                ExpertRoutes r = routes.get(layer);
                int k = r.k();
                for (int t = 0; t < ids.length; t++) {
                    int[] order = sortedSlots(r, t);
                    for (int j = 0; j < k; j++) {
                        assertThat(r.expertIds()[order[j]]).as("%s layer %d token %d expert %d", model, layer, t, j)
                                .isEqualTo(expectedIds[t * k + j]);
                        assertThat((double) r.weights()[order[j]]).as("%s layer %d token %d weight %d", model, layer, t, j)
                                .isCloseTo(expectedWeights[t * k + j], org.assertj.core.data.Offset.offset(1e-5 * Math.max(1, Math.abs(expectedWeights[t * k + j]))));
                    }
                }
            }
            assertThat(moeLayers).isEqualTo((int) java.util.stream.IntStream.range(0, engine.config().numHiddenLayers())
                    .filter(engine.config()::isMoeLayer).count()).isPositive();
        }
    }

    /** Token t's route slots ordered by expert id, as the golden file stores them. */
    private static int[] sortedSlots(ExpertRoutes r, int t) {
        return java.util.stream.IntStream.range(t * r.k(), (t + 1) * r.k()).boxed()
                .sorted(java.util.Comparator.comparingInt(slot -> r.expertIds()[slot]))
                .mapToInt(Integer::intValue).toArray();
    }

    @ParameterizedTest
    @MethodSource("models")
    void prefillPathEqualsAbsorbedDecodePath(String model) {
        Engine engine = engines.get(model);
        DeepseekModel m = engine.model();
        int vocab = engine.config().vocabSize();
        try (var golden = Fixtures.golden(model)) {
            int[] ids = golden.ints("p2.input_ids");
            float[] prefill = engine.score(ids, LayerObserver.NONE);
            long sequence = 1_000_000;
            try {
                for (int t = 0; t < ids.length; t++) {
                    // Each step is a one-token chunk: the absorbed path over the latent cache.
                    float[] decoded = m.forward(List.of(new SequenceChunk(sequence, t, 1)), new int[]{ids[t]}, false, LayerObserver.NONE);
                    assertThat(Fixtures.relativeError(decoded, 0, prefill, t * vocab, vocab))
                            .as("%s position %d", model, t).isLessThan(1e-5);
                }
            } finally {
                m.release(sequence);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void aPromptPrefilledInChunksAttendsOverTheCachedChunksBeforeIt(String model) {
        DeepseekModel m = engines.get(model).model();
        int vocab = engines.get(model).config().vocabSize();
        try (var golden = Fixtures.golden(model)) {
            int[] ids = golden.ints("p3.input_ids");
            float[] expected = golden.floats("p3.logits");
            long sequence = 4_000_000;
            int chunk = 64;
            try {
                for (int start = 0; start < ids.length; start += chunk) {
                    int length = Math.min(chunk, ids.length - start);
                    float[] logits = m.forward(List.of(new SequenceChunk(sequence, start, length)),
                            Arrays.copyOfRange(ids, start, start + length), true, LayerObserver.NONE);
                    assertThat(Fixtures.relativeError(logits, 0, expected, start * vocab, length * vocab))
                            .as("%s positions %d..%d", model, start, start + length).isLessThan(LOGITS_TOLERANCE);
                }
            } finally {
                m.release(sequence);
            }
        }
    }

    @Test
    void decodeOverAContextOfSeveralCacheBlocksAgreesWithPrefill() {
        DeepseekModel m = engines.get("tiny-v3").model();
        int vocab = engines.get("tiny-v3").config().vocabSize();
        // Past 256 tokens the absorbed path splits the cache into blocks read in parallel.
        int[] ids = new java.util.SplittableRandom(7).ints(600, 2, vocab).toArray();
        long prefilled = 6_000_000;
        long decoded = 6_000_001;
        try {
            float[] prefill = m.forward(List.of(new SequenceChunk(prefilled, 0, ids.length)), ids, true, LayerObserver.NONE);
            for (int t = 0; t < ids.length; t++) {
                float[] step = m.forward(List.of(new SequenceChunk(decoded, t, 1)), new int[]{ids[t]}, false, LayerObserver.NONE);
                if (t >= 256) {
                    assertThat(Fixtures.relativeError(step, 0, prefill, t * vocab, vocab)).as("position %d", t).isLessThan(1e-5);
                }
            }
        } finally {
            m.release(prefilled);
            m.release(decoded);
        }
    }

    @Test
    void aStepWithAChunkThatDoesNotFollowItsCacheIsRefusedWithoutTouchingTheOthers() {
        DeepseekModel m = engines.get("tiny-v2-lite").model();
        long good = 5_000_000;
        long bad = 5_000_001;
        int[] prompt = {0, 5, 9};
        try {
            assertThatThrownBy(() -> m.forward(
                            List.of(new SequenceChunk(good, 0, 3), new SequenceChunk(bad, 4, 1)), new int[]{0, 5, 9, 7}, false, LayerObserver.NONE))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("sequence " + bad + " has 0 cached tokens in layer 0 but the chunk starts at 4");
            float[] afterRefusal = m.forward(List.of(new SequenceChunk(good, 0, 3)), prompt, false, LayerObserver.NONE);
            float[] fresh = engines.get("tiny-v2-lite").score(prompt, LayerObserver.NONE);
            int vocab = engines.get("tiny-v2-lite").config().vocabSize();
            assertThat(afterRefusal).containsExactly(Arrays.copyOfRange(fresh, 2 * vocab, 3 * vocab));
        } finally {
            m.release(good);
            m.release(bad);
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void batchedDecodeStepEqualsEachSequenceDecodedAlone(String model) {
        Engine engine = engines.get(model);
        DeepseekModel m = engine.model();
        int vocab = engine.config().vocabSize();
        try (var golden = Fixtures.golden(model)) {
            int[][] prompts = {golden.ints("p1.input_ids"), golden.ints("p2.input_ids"), golden.ints("p3.input_ids")};
            int[] next = {5, 7, 11};
            float[][] alone = new float[prompts.length][];
            for (int s = 0; s < prompts.length; s++) {
                long id = 2_000_000 + s;
                m.forward(List.of(new SequenceChunk(id, 0, prompts[s].length)), prompts[s], false, LayerObserver.NONE);
                alone[s] = m.forward(List.of(new SequenceChunk(id, prompts[s].length, 1)), new int[]{next[s]}, false, LayerObserver.NONE);
                m.release(id);
            }
            List<SequenceChunk> step = new java.util.ArrayList<>();
            for (int s = 0; s < prompts.length; s++) {
                long id = 3_000_000 + s;
                m.forward(List.of(new SequenceChunk(id, 0, prompts[s].length)), prompts[s], false, LayerObserver.NONE);
                step.add(new SequenceChunk(id, prompts[s].length, 1));
            }
            float[] batched = m.forward(step, next, false, LayerObserver.NONE);
            step.forEach(c -> m.release(c.sequenceId()));
            for (int s = 0; s < prompts.length; s++) {
                assertThat(Arrays.copyOfRange(batched, s * vocab, (s + 1) * vocab))
                        .as("%s sequence %d (prompt length %d)", model, s, prompts[s].length)
                        .containsExactly(alone[s]);
            }
        }
    }
}
