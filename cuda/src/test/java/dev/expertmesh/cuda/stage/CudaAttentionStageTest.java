package dev.expertmesh.cuda.stage;

import dev.expertmesh.Fixtures;
import dev.expertmesh.attention.SequenceChunk;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.cuda.runtime.Gpu;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.QuantizationPlan;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static dev.expertmesh.cuda.GpuComparison.assumeAGpu;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The GPU attention stage's cache written again at positions it holds, as a coordinator retries a
 * step: it goes on exactly as a stage that wrote them once. Needs a CUDA device, as {@link CudaEngineTest}.
 */
@Tag("gpu")
class CudaAttentionStageTest {
    private static final int ROWS = 7;
    private static final int LAYER = 0;

    private TensorSource weights;
    private Arena arena;
    private Gpu gpu;
    private ModelConfig config;

    @BeforeEach
    void open() {
        assumeAGpu();
        Path dir = Fixtures.model("tiny-v2-lite");
        config = ModelConfig.load(dir);
        weights = Checkpoint.open(dir);
        arena = Arena.ofShared();
        gpu = Gpu.open(0);
    }

    @AfterEach
    void close() {
        if (gpu != null) {
            gpu.close();
            arena.close();
            weights.close();
        }
    }

    private CudaAttentionStage stage() {
        return CudaAttentionStage.load(gpu, weights, config, arena, QuantizationPlan.NONE, 4, 16);
    }

    private float[] hidden(int seed, int rows) {
        Random random = new Random(seed);
        float[] values = new float[rows * config.hiddenSize()];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return values;
    }

    private static float[] forward(CudaAttentionStage stage, SequenceChunk chunk, float[] hidden) {
        return stage.forward(LAYER, 0, List.of(chunk), hidden);
    }

    @Test
    void aStepRunTwiceGivesTheOutputOfOneRunAndTheSameStepsAfter() {
        SequenceChunk prefill = new SequenceChunk(1, 0, ROWS);
        SequenceChunk decode = new SequenceChunk(1, ROWS, 1);
        try (CudaAttentionStage once = stage(); CudaAttentionStage twice = stage()) {
            float[] prefilled = forward(once, prefill, hidden(1, ROWS));
            float[] decoded = forward(once, decode, hidden(2, 1));
            assertThat(forward(twice, prefill, hidden(1, ROWS))).containsExactly(prefilled);
            assertThat(forward(twice, prefill, hidden(1, ROWS))).as("the prefill run again").containsExactly(prefilled);
            assertThat(forward(twice, decode, hidden(2, 1))).containsExactly(decoded);
            assertThat(forward(twice, decode, hidden(2, 1))).as("the decode run again").containsExactly(decoded);
            assertThat(twice.blocksHeld()).isEqualTo(once.blocksHeld());
        }
    }

    /** The whole prompt is rewritten: same shapes as the fresh run's, so the GEMMs are the same kernels on a GPU. */
    @Test
    void aPrefillRewrittenAfterDecodeStepsContinuesAsAFreshStage() {
        SequenceChunk prefill = new SequenceChunk(1, 0, ROWS);
        SequenceChunk decode = new SequenceChunk(1, ROWS, 1);
        try (CudaAttentionStage fresh = stage(); CudaAttentionStage rewritten = stage()) {
            float[] prefilled = forward(fresh, prefill, hidden(1, ROWS));
            float[] decoded = forward(fresh, decode, hidden(2, 1));
            forward(rewritten, prefill, hidden(1, ROWS));
            for (int i = 0; i < 6; i++) {
                forward(rewritten, new SequenceChunk(1, ROWS + i, 1), hidden(10 + i, 1));
            }
            assertThat(forward(rewritten, prefill, hidden(1, ROWS))).as("the rewritten prefill").containsExactly(prefilled);
            assertThat(forward(rewritten, decode, hidden(2, 1))).as("the decode step after the rewrite").containsExactly(decoded);
            assertThat(rewritten.blocksHeld().usedBlocks()).as("blocks of the 13 positions written").isEqualTo(4);
        }
    }

    @Test
    void aChunkStartingBeyondTheCachedPositionsIsRefused() {
        try (CudaAttentionStage stage = stage()) {
            forward(stage, new SequenceChunk(1, 0, ROWS), hidden(1, ROWS));
            assertThatThrownBy(() -> forward(stage, new SequenceChunk(1, ROWS + 1, 1), hidden(2, 1)))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("sequence 1 has " + ROWS + " cached tokens in layer 0 but the chunk starts at " + (ROWS + 1));
        }
    }
}
