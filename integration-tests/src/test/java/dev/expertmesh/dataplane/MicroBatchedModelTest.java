package dev.expertmesh.dataplane;

import dev.expertmesh.Fixtures;
import dev.expertmesh.attention.SequenceChunk;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.engine.DeepseekModel;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.proto.HiddenType;
import dev.expertmesh.transport.TransportOptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Splitting steps into micro-batches changes when the remote stages run, not what they compute:
 * with fp32 transport the logits of 2 and 3 micro-batches equal those of 1 and of the single-process
 * engine, for a prefill and a decode step of four sequences and a step of one sequence.
 */
class MicroBatchedModelTest {
    private static final double LOGITS_TOLERANCE = 1e-5;
    private static final int SEQUENCES = 4;
    private static final int[] MICRO_BATCHES = {1, 2, 3};

    static String[] models() {
        return Fixtures.MODELS;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void microBatchesGiveTheLogitsOfOneBatch(String model) throws Exception {
        List<int[]> prompts = new ArrayList<>();
        try (var golden = Fixtures.golden(model)) {
            for (int p = 0; p < SEQUENCES; p++) {
                prompts.add(golden.ints("p" + p + ".input_ids"));
            }
        }
        List<float[]> expected;
        try (Engine local = Engine.load(Fixtures.model(model), new CpuBackend())) {
            expected = steps(local.model(), prompts, 0);
        }
        try (Cluster cluster = new Cluster(Fixtures.model(model))) {
            var experts = cluster.startExpertWorkers("experts-", 2, Cluster.EPOCH);
            var attention = Cluster.peers(cluster.startAttentionWorkers("attention-", 2));
            List<float[]> unsplit = null;
            for (int microBatches : MICRO_BATCHES) {
                TransportOptions options = new TransportOptions(HiddenType.FP32, Duration.ofSeconds(10), microBatches);
                try (Cluster.Coordinator coordinator = cluster.coordinator(attention, experts, Cluster.EPOCH, options)) {
                    List<float[]> actual = steps(coordinator.engine().model(), prompts, 100L * microBatches);
                    for (int step = 0; step < actual.size(); step++) {
                        assertThat(Fixtures.relativeError(actual.get(step), expected.get(step)))
                                .as("%s, %d micro-batches, step %d against the single-process engine", model, microBatches, step)
                                .isLessThan(LOGITS_TOLERANCE);
                        if (unsplit != null) {
                            assertThat(actual.get(step)).as("%s, %d micro-batches, step %d against one", model, microBatches, step)
                                    .isEqualTo(unsplit.get(step));
                        }
                    }
                    if (unsplit == null) {
                        unsplit = actual;
                    }
                }
            }
        }
    }

    /**
     * Logits of a prefill step of every prompt (every position), a decode step of every sequence
     * and a decode step of the first sequence alone, fewer sequences than micro-batches.
     */
    private static List<float[]> steps(DeepseekModel model, List<int[]> prompts, long firstId) {
        List<SequenceChunk> prefill = new ArrayList<>();
        List<SequenceChunk> decode = new ArrayList<>();
        for (int s = 0; s < prompts.size(); s++) {
            prefill.add(new SequenceChunk(firstId + s, 0, prompts.get(s).length));
            decode.add(new SequenceChunk(firstId + s, prompts.get(s).length, 1));
        }
        int[] prefillTokens = prompts.stream().flatMapToInt(IntStream::of).toArray();
        int[] decodeTokens = prompts.stream().mapToInt(p -> p[p.length - 1]).toArray();
        try {
            return List.of(
                    model.forward(prefill, prefillTokens, true, LayerObserver.NONE),
                    model.forward(decode, decodeTokens, false, LayerObserver.NONE),
                    model.forward(List.of(new SequenceChunk(firstId, prompts.getFirst().length + 1, 1)), new int[]{decodeTokens[0]},
                            false, LayerObserver.NONE));
        } finally {
            for (int s = 0; s < prompts.size(); s++) {
                model.release(firstId + s);
            }
        }
    }
}
