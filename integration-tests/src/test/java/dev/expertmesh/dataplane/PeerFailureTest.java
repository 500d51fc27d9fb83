package dev.expertmesh.dataplane;

import dev.expertmesh.Fixtures;
import dev.expertmesh.coordinator.dispatch.ExpertPeer;
import dev.expertmesh.engine.GenerationRequest;
import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.proto.HiddenType;
import dev.expertmesh.sampling.SamplingParams;
import dev.expertmesh.transport.Peer;
import dev.expertmesh.transport.PeerFailureException;
import dev.expertmesh.transport.TransportOptions;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Failing workers make the coordinator's step fail fast, naming the worker. */
class PeerFailureTest {
    private static final int[] PROMPT = {0, 5, 17, 42};

    @Test
    void anExpertWorkerRefusesABatchOfAnotherEpoch() throws Exception {
        try (Cluster cluster = new Cluster(Fixtures.model("tiny-v2-lite"))) {
            List<ExpertPeer> experts = cluster.startExpertWorkers("epoch2-experts-", 1, 2);
            List<Peer> attention = Cluster.peers(cluster.startAttentionWorkers("attention-", 1));
            try (Cluster.Coordinator stale = cluster.coordinator(attention, experts, 1, TransportOptions.DEFAULT)) {
                assertThatThrownBy(() -> stale.engine().score(PROMPT, LayerObserver.NONE))
                        .isInstanceOf(PeerFailureException.class)
                        .hasMessageContaining("epoch2-experts-0")
                        .hasMessageContaining("placement epoch 1")
                        .hasMessageContaining("serves epoch 2");
            }
        }
    }

    @Test
    void aWorkerShutDownMidRunFailsTheNextStepFastNamingIt() throws Exception {
        try (Cluster cluster = new Cluster(Fixtures.model("tiny-v2-lite"))) {
            List<ExpertPeer> experts = cluster.startExpertWorkers("experts-", 2, Cluster.EPOCH);
            List<Peer> attention = Cluster.peers(cluster.startAttentionWorkers("attention-", 1));
            TransportOptions options = new TransportOptions(HiddenType.BF16, Duration.ofSeconds(2), 2);
            try (Cluster.Coordinator coordinator = cluster.coordinator(attention, experts, Cluster.EPOCH, options)) {
                coordinator.engine().score(PROMPT, LayerObserver.NONE);
                cluster.stopWorker("experts-1");
                long start = System.nanoTime();
                assertThatThrownBy(() -> coordinator.engine().score(PROMPT, LayerObserver.NONE))
                        .isInstanceOf(PeerFailureException.class)
                        .hasMessageContaining("experts-1");
                assertThat((System.nanoTime() - start) / 1e9).as("seconds to fail").isLessThan(4);
                long splitStart = System.nanoTime();
                GenerationRequest request = new GenerationRequest(PROMPT, SamplingParams.GREEDY, 1);
                assertThatThrownBy(() -> coordinator.engine().generate(List.of(request, request), (index, token) -> { }))
                        .as("a step of two micro-batches")
                        .isInstanceOf(PeerFailureException.class)
                        .hasMessageContaining("experts-1");
                assertThat((System.nanoTime() - splitStart) / 1e9).as("seconds for two micro-batches to fail").isLessThan(4);
            }
        }
    }
}
