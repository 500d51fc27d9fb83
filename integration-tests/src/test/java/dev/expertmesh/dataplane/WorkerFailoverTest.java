package dev.expertmesh.dataplane;

import dev.expertmesh.Fixtures;
import dev.expertmesh.attentionworker.AttentionWorkerServer;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.coordinator.dispatch.ExpertPeer;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.Generation;
import dev.expertmesh.engine.GenerationRequest;
import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.placement.HostedExperts;
import dev.expertmesh.proto.HiddenType;
import dev.expertmesh.sampling.SamplingParams;
import dev.expertmesh.transport.TransportOptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Workers that stop answering mid-generation cost no request: an expert worker's calls go to the
 * replicas of its experts, and an attention worker's sequences are recomputed on the other one.
 * With fp32 on the wire the tokens stay transformers' greedy ones and the logits the single-process
 * engine's.
 */
class WorkerFailoverTest {
    private static final TransportOptions FP32 = new TransportOptions(HiddenType.FP32, Duration.ofSeconds(2), 2);
    private static final double LOGITS_TOLERANCE = 1e-5;
    private static final List<String> MODELS = List.of(Fixtures.MODELS);

    @ParameterizedTest
    @FieldSource("MODELS")
    void anExpertWorkerStoppedMidGenerationIsReplacedByItsReplicas(String model) throws Exception {
        try (Cluster cluster = new Cluster(Fixtures.model(model)); var golden = Fixtures.golden(model);
             Engine local = Engine.load(Fixtures.model(model), new CpuBackend())) {
            HostedExperts every = HostedExperts.striped(cluster.config, 0, 1);
            List<ExpertPeer> experts = List.of(cluster.startExpertWorker("replica-0", every, Cluster.EPOCH),
                    cluster.startExpertWorker("replica-1", every, Cluster.EPOCH));
            List<AttentionWorkerServer> attention = cluster.startAttentionWorkers("attention-", 1);
            try (Cluster.Coordinator coordinator = cluster.coordinator(Cluster.peers(attention), experts, Cluster.EPOCH, FP32)) {
                int[] expected = golden.ints("p1.greedy_tokens");
                AtomicInteger seen = new AtomicInteger();
                Generation generation = coordinator.engine().generate(List.of(
                        new GenerationRequest(golden.ints("p1.input_ids"), SamplingParams.GREEDY, expected.length)), (request, token) -> {
                    if (seen.incrementAndGet() == expected.length / 2) {
                        stop(cluster, "replica-1");
                    }
                }).getFirst();

                assertThat(generation.tokenIds()).as("%s p1 greedy tokens through the stop", model).containsExactly(expected);
                assertThat(coordinator.model().experts().plan().workers()).extracting(w -> w.peer().name()).containsExactly("replica-0");
                int[] ids = golden.ints("p2.input_ids");
                assertThat(Fixtures.relativeError(coordinator.engine().score(ids, LayerObserver.NONE), local.score(ids, LayerObserver.NONE)))
                        .as("%s p2 logits on the replica left", model).isLessThan(LOGITS_TOLERANCE);
            }
        }
    }

    @ParameterizedTest
    @FieldSource("MODELS")
    void anAttentionWorkerStoppedMidGenerationHasItsSequencesRecomputed(String model) throws Exception {
        try (Cluster cluster = new Cluster(Fixtures.model(model)); var golden = Fixtures.golden(model)) {
            List<ExpertPeer> experts = cluster.startExpertWorkers("experts-", 2, Cluster.EPOCH);
            List<AttentionWorkerServer> attention = cluster.startAttentionWorkers("attention-", 2);
            try (Cluster.Coordinator coordinator = cluster.coordinator(Cluster.peers(attention), experts, Cluster.EPOCH, FP32)) {
                int[][] expected = {golden.ints("p1.greedy_tokens"), golden.ints("p2.greedy_tokens")};
                AtomicInteger seen = new AtomicInteger();
                List<Generation> generations = coordinator.engine().generate(List.of(
                        new GenerationRequest(golden.ints("p1.input_ids"), SamplingParams.GREEDY, expected[0].length),
                        new GenerationRequest(golden.ints("p2.input_ids"), SamplingParams.GREEDY, expected[1].length)), (request, token) -> {
                    if (seen.incrementAndGet() == expected[0].length) {
                        stop(cluster, attention.getLast().name());
                    }
                });

                assertThat(generations.get(0).tokenIds()).as("%s p1 greedy tokens through the stop", model).containsExactly(expected[0]);
                assertThat(generations.get(1).tokenIds()).as("%s p2 greedy tokens through the stop", model).containsExactly(expected[1]);
                assertThat(coordinator.model().attention().peers()).extracting(p -> p.name()).containsExactly(attention.getFirst().name());
            }
        }
    }

    private static void stop(Cluster cluster, String worker) {
        try {
            cluster.stopWorker(worker);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
