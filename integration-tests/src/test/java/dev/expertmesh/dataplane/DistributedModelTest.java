package dev.expertmesh.dataplane;

import dev.expertmesh.Fixtures;
import dev.expertmesh.attentionworker.AttentionWorkerServer;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.coordinator.dispatch.ExpertPeer;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.Generation;
import dev.expertmesh.engine.GenerationRequest;
import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.proto.AttentionCapacity;
import dev.expertmesh.proto.HiddenType;
import dev.expertmesh.sampling.SamplingParams;
import dev.expertmesh.transport.Peer;
import dev.expertmesh.transport.TransportOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A coordinator with remote attention and experts gives the single-process answer: every fixture
 * model over 1, 2 and 3 expert workers and 1 and 2 attention workers.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DistributedModelTest {
    private static final Logger log = LoggerFactory.getLogger(DistributedModelTest.class);
    private static final double LOGITS_TOLERANCE = 1e-5;
    private static final TransportOptions FP32 = TransportOptions.DEFAULT.withHiddenType(HiddenType.FP32);

    private final Map<String, Cluster> clusters = new HashMap<>();
    private final Map<String, Map<Integer, List<ExpertPeer>>> expertWorkers = new HashMap<>();
    private final Map<String, Map<Integer, List<AttentionWorkerServer>>> attentionWorkers = new HashMap<>();

    @BeforeAll
    void startWorkers() {
        for (String model : Fixtures.MODELS) {
            Cluster cluster = new Cluster(Fixtures.model(model));
            clusters.put(model, cluster);
            Map<Integer, List<ExpertPeer>> experts = new HashMap<>();
            Map<Integer, List<AttentionWorkerServer>> attention = new HashMap<>();
            for (int n = 1; n <= 3; n++) {
                experts.put(n, cluster.startExpertWorkers(model + "-experts" + n + "-", n, Cluster.EPOCH));
            }
            for (int n = 1; n <= 2; n++) {
                attention.put(n, cluster.startAttentionWorkers(model + "-attention" + n + "-", n));
            }
            expertWorkers.put(model, experts);
            attentionWorkers.put(model, attention);
        }
    }

    @AfterAll
    void stopWorkers() throws Exception {
        for (Cluster cluster : clusters.values()) {
            cluster.close();
        }
    }

    static Stream<Arguments> layouts() {
        return Stream.of(Fixtures.MODELS).flatMap(model -> Stream.of(1, 2, 3).flatMap(experts -> Stream.of(1, 2)
                .map(attention -> Arguments.of(model, experts, attention))));
    }

    private Cluster.Coordinator coordinator(String model, int experts, int attention, TransportOptions options) {
        return clusters.get(model).coordinator(Cluster.peers(attentionWorkers.get(model).get(attention)),
                expertWorkers.get(model).get(experts), Cluster.EPOCH, options);
    }

    @ParameterizedTest(name = "{0}, {1} expert and {2} attention workers")
    @MethodSource("layouts")
    void fp32TransportGivesTheSingleProcessLogits(String model, int experts, int attention) {
        try (Engine local = Engine.load(Fixtures.model(model), new CpuBackend());
             Cluster.Coordinator remote = coordinator(model, experts, attention, FP32);
             var golden = Fixtures.golden(model)) {
            for (int p = 0; p < 4; p++) {
                int[] ids = golden.ints("p" + p + ".input_ids");
                float[] expected = local.score(ids, LayerObserver.NONE);
                float[] actual = remote.engine().score(ids, LayerObserver.NONE);
                assertThat(Fixtures.relativeError(actual, expected)).as("%s p%d logits", model, p).isLessThan(LOGITS_TOLERANCE);
            }
        }
    }

    /**
     * tiny-v3 is left out: its greedy margins (0.0024 and 0.0020 in golden.json) are below what
     * bf16 hidden vectors on the wire move its logits (about 5% relative on p3), and its p1 tokens
     * part from the golden ones at the 15th.
     */
    static Stream<Arguments> bf16Layouts() {
        return layouts().filter(arguments -> !arguments.get()[0].equals("tiny-v3"));
    }

    @ParameterizedTest(name = "{0}, {1} expert and {2} attention workers")
    @MethodSource("bf16Layouts")
    void bf16TransportGivesTheGoldenGreedyTokensAndFreesEveryCacheBlock(String model, int experts, int attention) {
        try (Cluster.Coordinator remote = coordinator(model, experts, attention, TransportOptions.DEFAULT);
             var golden = Fixtures.golden(model)) {
            int[][] expected = {golden.ints("p1.greedy_tokens"), golden.ints("p2.greedy_tokens")};
            long start = System.nanoTime();
            List<Generation> generations = remote.engine().generate(List.of(
                    new GenerationRequest(golden.ints("p1.input_ids"), SamplingParams.GREEDY, expected[0].length),
                    new GenerationRequest(golden.ints("p2.input_ids"), SamplingParams.GREEDY, expected[1].length)),
                    (request, token) -> { });
            log.info("{} with {} expert and {} attention workers: {} decode steps in {} ms", model, experts, attention,
                    expected[0].length, (System.nanoTime() - start) / 1_000_000);
            assertThat(generations.get(0).tokenIds()).as("%s p1 greedy tokens", model).containsExactly(expected[0]);
            assertThat(generations.get(1).tokenIds()).as("%s p2 greedy tokens", model).containsExactly(expected[1]);
            for (Peer peer : remote.model().attention().peers()) {
                AttentionCapacity capacity = remote.model().attention().capacity(peer);
                assertThat(capacity.getFreeBlocks()).as("free blocks of %s", peer).isEqualTo(capacity.getTotalBlocks());
            }
        }
    }
}
