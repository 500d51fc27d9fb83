package dev.expertmesh.engine;

import dev.expertmesh.Fixtures;
import dev.expertmesh.attention.AttentionStage;
import dev.expertmesh.attention.CacheUsage;
import dev.expertmesh.attention.LocalAttentionStage;
import dev.expertmesh.attention.SequenceChunk;
import dev.expertmesh.backend.Backend;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertStage;
import dev.expertmesh.moe.LocalExpertStage;
import dev.expertmesh.quantization.QuantizationPlan;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two micro-batches are two chains through the layers: the second attends while the first is in
 * the expert stage, each keeps its own layers in order, and the logits are those of one batch.
 */
class MicroBatchOverlapTest {
    private static final double LOGITS_TOLERANCE = 1e-5;

    @Test
    void theSecondMicroBatchAttendsWhileTheFirstIsInTheExpertStage() {
        Path dir = Fixtures.model("tiny-v2-lite");
        ModelConfig config = ModelConfig.load(dir);
        Backend backend = new CpuBackend();
        try (TensorSource weights = Checkpoint.open(dir); Arena arena = Arena.ofShared()) {
            LocalAttentionStage attention = LocalAttentionStage.load(weights, config, backend, arena, QuantizationPlan.NONE);
            LocalExpertStage experts = LocalExpertStage.load(weights, config, backend, arena, QuantizationPlan.NONE);
            CountDownLatch secondAttending = new CountDownLatch(1);
            List<String> calls = Collections.synchronizedList(new ArrayList<>());
            AttentionStage recordedAttention = new AttentionStage() {
                @Override
                public float[] forward(int layer, int microBatch, List<SequenceChunk> chunks, float[] hidden) {
                    calls.add(microBatch + " attention " + layer);
                    if (microBatch == 1) {
                        secondAttending.countDown();
                    }
                    return attention.forward(layer, microBatch, chunks, hidden);
                }

                @Override
                public boolean reserve(long sequenceId, int tokens) {
                    return attention.reserve(sequenceId, tokens);
                }

                @Override
                public CacheUsage cacheUsage() {
                    return attention.cacheUsage();
                }

                @Override
                public void release(long sequenceId) {
                    attention.release(sequenceId);
                }
            };
            ExpertStage expertsAwaitingTheSecond = (layer, microBatch, x, routes) -> {
                calls.add(microBatch + " experts " + layer);
                if (microBatch == 0 && layer == 0) {
                    await(secondAttending);
                }
                return experts.forward(layer, microBatch, x, routes);
            };
            DeepseekModel split = DeepseekModel.load(weights, config, backend, arena, recordedAttention, expertsAwaitingTheSecond, 2);
            DeepseekModel whole = DeepseekModel.load(weights, config, backend, arena,
                    LocalAttentionStage.load(weights, config, backend, arena, QuantizationPlan.NONE), experts, 1);

            List<SequenceChunk> chunks = List.of(new SequenceChunk(0, 0, 3), new SequenceChunk(1, 0, 2), new SequenceChunk(2, 0, 3));
            int[] tokens = {1, 5, 9, 2, 6, 3, 7, 11};
            float[] expected = whole.forward(chunks, tokens, true, LayerObserver.NONE);
            float[] actual = split.forward(chunks, tokens, true, LayerObserver.NONE);

            assertThat(Fixtures.relativeError(actual, expected)).isLessThan(LOGITS_TOLERANCE);
            for (int microBatch = 0; microBatch < 2; microBatch++) {
                String prefix = microBatch + " ";
                assertThat(calls.stream().filter(c -> c.startsWith(prefix)).toList()).as("micro-batch %d's stage calls", microBatch)
                        .containsExactlyElementsOf(IntStream.range(0, config.numHiddenLayers())
                                .boxed().flatMap(l -> List.of(prefix + "attention " + l, prefix + "experts " + l).stream()).toList());
            }
        }
    }

    /** Fails rather than hangs when the model waits for the first micro-batch before starting the second. */
    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(10, TimeUnit.SECONDS)) {
                throw new AssertionError("the second micro-batch never attended while the first was in the expert stage");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
