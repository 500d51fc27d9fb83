package dev.expertmesh.engine;

import dev.expertmesh.Fixtures;
import dev.expertmesh.attention.SequenceChunk;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.QuantizationPlan;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Steps run again on tiny-v2-lite, as a coordinator retries one that failed midway: a model that
 * ran a step twice, or went back to rewrite a prefill, goes on exactly as one that ran it once.
 */
class RetriedStepTest {
    private static final String MODEL = "tiny-v2-lite";

    private TensorSource weights;
    private Arena arena;
    private ModelConfig config;
    private int[] p1;
    private int[] p2;
    private int[] continuation;

    @BeforeEach
    void open() {
        weights = Checkpoint.open(Fixtures.model(MODEL));
        arena = Arena.ofShared();
        config = ModelConfig.load(Fixtures.model(MODEL));
        try (var golden = Fixtures.golden(MODEL)) {
            p1 = golden.ints("p1.input_ids");
            p2 = golden.ints("p2.input_ids");
            continuation = golden.ints("p1.greedy_tokens");
        }
    }

    @AfterEach
    void close() {
        arena.close();
        weights.close();
    }

    private DeepseekModel model() {
        return DeepseekModel.load(weights, config, new CpuBackend(), arena, QuantizationPlan.NONE);
    }

    private static float[] prefill(DeepseekModel model, long sequenceId, int[] prompt) {
        return model.forward(List.of(new SequenceChunk(sequenceId, 0, prompt.length)), prompt, true, LayerObserver.NONE);
    }

    /** Logits of the continuation's token {@code i} decoded after p1. */
    private float[] decode(DeepseekModel model, int i) {
        return model.forward(List.of(new SequenceChunk(1, p1.length + i, 1)), new int[]{continuation[i]}, false, LayerObserver.NONE);
    }

    @Test
    void aStepRunTwiceGivesTheLogitsOfOneRunAndTheSameStepsAfter() {
        DeepseekModel once = model();
        DeepseekModel twice = model();
        List<SequenceChunk> mixed = List.of(new SequenceChunk(1, p1.length, 1), new SequenceChunk(2, 0, p2.length));
        int[] mixedTokens = new int[1 + p2.length];
        mixedTokens[0] = continuation[0];
        System.arraycopy(p2, 0, mixedTokens, 1, p2.length);
        List<SequenceChunk> decodes = List.of(new SequenceChunk(1, p1.length + 1, 1), new SequenceChunk(2, p2.length, 1));
        int[] decodeTokens = {continuation[1], continuation[0]};

        float[] prefilled = prefill(once, 1, p1);
        float[] stepped = once.forward(mixed, mixedTokens, true, LayerObserver.NONE);
        float[] next = once.forward(decodes, decodeTokens, false, LayerObserver.NONE);

        assertThat(prefill(twice, 1, p1)).containsExactly(prefilled);
        assertThat(prefill(twice, 1, p1)).as("the prefill run again").containsExactly(prefilled);
        assertThat(twice.forward(mixed, mixedTokens, true, LayerObserver.NONE)).containsExactly(stepped);
        assertThat(twice.forward(mixed, mixedTokens, true, LayerObserver.NONE)).as("the mixed step run again").containsExactly(stepped);
        assertThat(twice.forward(decodes, decodeTokens, false, LayerObserver.NONE)).containsExactly(next);
    }

    @Test
    void aPrefillChunkRewrittenAfterDecodeStepsContinuesAsAFreshRun() {
        DeepseekModel fresh = model();
        float[] prefilled = prefill(fresh, 1, p1);
        float[] firstDecode = decode(fresh, 0);

        DeepseekModel rewritten = model();
        prefill(rewritten, 1, p1);
        for (int i = 0; i < 3; i++) {
            decode(rewritten, i);
        }
        int half = p1.length / 2;
        float[] tail = rewritten.forward(List.of(new SequenceChunk(1, half, p1.length - half)),
                Arrays.copyOfRange(p1, half, p1.length), true, LayerObserver.NONE);
        int vocab = config.vocabSize();
        assertThat(tail).as("the rewritten chunk's logits")
                .containsExactly(Arrays.copyOfRange(prefilled, half * vocab, p1.length * vocab));
        assertThat(decode(rewritten, 0)).as("the decode step after the rewrite").containsExactly(firstDecode);
        assertThat(decode(rewritten, 1)).containsExactly(decode(fresh, 1));
    }

    @Test
    void aChunkStartingBeyondTheCachedPositionsIsRefusedAndChangesNothing() {
        DeepseekModel fresh = model();
        prefill(fresh, 1, p1);
        float[] firstDecode = decode(fresh, 0);

        DeepseekModel model = model();
        prefill(model, 1, p1);
        assertThatThrownBy(() -> decode(model, 1))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("sequence 1 has " + p1.length + " cached tokens in layer 0 but the chunk starts at " + (p1.length + 1));
        assertThat(decode(model, 0)).containsExactly(firstDecode);
    }
}
