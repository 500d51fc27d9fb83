package dev.expertmesh.dataplane;

import dev.expertmesh.Fixtures;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.coordinator.dispatch.DispatchPlan;
import dev.expertmesh.coordinator.dispatch.ExpertFailover;
import dev.expertmesh.coordinator.dispatch.ExpertPeer;
import dev.expertmesh.coordinator.dispatch.RemoteExpertStage;
import dev.expertmesh.engine.CpuDevice;
import dev.expertmesh.expertworker.ExpertWorkerNode;
import dev.expertmesh.membership.ClusterMember;
import dev.expertmesh.membership.MemberSettings;
import dev.expertmesh.membership.NodeOptions;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertRoutes;
import dev.expertmesh.placement.HostedExperts;
import dev.expertmesh.placement.LayerPlacement;
import dev.expertmesh.placement.ShardMap;
import dev.expertmesh.proto.HiddenType;
import dev.expertmesh.proto.NodeDescriptor;
import dev.expertmesh.proto.Role;
import dev.expertmesh.shardmap.ShardMapStore;
import dev.expertmesh.transport.Peer;
import dev.expertmesh.transport.PeerFailureException;
import dev.expertmesh.transport.TransportOptions;
import dev.expertmesh.quantization.QuantizationPlan;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * An expert worker's side of a two-phase epoch change: a new map is loaded beside the one served, so
 * batches of both epochs are answered, and the experts only the old map placed there are dropped, and
 * its batches refused, once the coordinator says it serves the new one.
 */
class EpochFlipTest {
    private static final String HOST = "127.0.0.1";
    private static final TransportOptions FP32 = new TransportOptions(HiddenType.FP32, Duration.ofSeconds(5), 1);

    @Test
    void aWorkerAnswersBothEpochsUntilTheFlipThenOnlyTheNewOne() throws Exception {
        ModelConfig config = ModelConfig.load(Fixtures.model("tiny-v2-lite"));
        int port = freePort();
        String clusterName = "epoch-flip-" + port;
        try (TensorSource weights = Checkpoint.open(Fixtures.model("tiny-v2-lite"));
             ClusterMember coordinator = ClusterMember.start(new MemberSettings(clusterName, HOST, port, List.of()),
                     NodeDescriptor.newBuilder().setRole(Role.COORDINATOR).setHost(HOST).build());
             ShardMapStore store = new ShardMapStore(coordinator);
             ExpertWorkerNode worker = ExpertWorkerNode.start(new NodeOptions(HOST, 0,
                     new MemberSettings(clusterName, HOST, port + 1, List.of(HOST + ":" + port))), weights, config, new CpuDevice(), QuantizationPlan.NONE)) {
            ShardMap all = store.publish(mapOf(config, worker.nodeId(), 16));
            awaitLoaded(coordinator, worker.nodeId(), all.epoch());
            store.flip(all.epoch());
            ShardMap half = store.publish(mapOf(config, worker.nodeId(), 8));
            awaitLoaded(coordinator, worker.nodeId(), half.epoch());
            Peer peer = Peer.of("expert worker", HOST, worker.port(), worker.dataPort());

            // Expert 12: placed there by the served map only; expert 3: by both.
            try (RemoteExpertStage old = stage(config, all, peer, worker.nodeId()); RemoteExpertStage next = stage(config, half, peer, worker.nodeId())) {
                float[] oldOnly = old.forward(1, 0, row(config), route(12));
                assertThat(oldOnly).as("the served epoch's expert, while the new map loads").isNotEqualTo(new float[config.hiddenSize()]);
                assertThat(next.forward(1, 0, row(config), route(3))).isEqualTo(old.forward(1, 0, row(config), route(3)));

                store.flip(half.epoch());
                long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                PeerFailureException refused = null;
                while (refused == null && System.nanoTime() < deadline) {
                    try {
                        old.forward(1, 0, row(config), route(12));
                        Thread.sleep(20);
                    } catch (PeerFailureException e) {
                        refused = e;
                    }
                }
                assertThat(refused).as("a batch of the old epoch after the flip").isNotNull();
                assertThat(refused).hasMessageContaining("refused a batch of placement epoch " + all.epoch())
                        .hasMessageContaining("the cluster serves epoch " + half.epoch());
                assertThat(next.forward(1, 0, row(config), route(3))).as("the new epoch after the flip").isNotEqualTo(new float[config.hiddenSize()]);
            }
        }
    }

    /** Every MoE layer's experts 0..experts-1 on {@code worker}, the rest on a worker that is not there. */
    private static ShardMap mapOf(ModelConfig config, String worker, int experts) {
        List<List<String>> hosts = new ArrayList<>();
        for (int e = 0; e < config.nRoutedExperts(); e++) {
            hosts.add(List.of(e < experts ? worker : "elsewhere"));
        }
        SortedMap<Integer, LayerPlacement> layers = new TreeMap<>();
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            if (config.isMoeLayer(layer)) {
                layers.put(layer, new LayerPlacement(hosts));
            }
        }
        return new ShardMap(ShardMap.UNPUBLISHED, layers);
    }

    private static RemoteExpertStage stage(ModelConfig config, ShardMap map, Peer peer, String worker) {
        DispatchPlan plan = DispatchPlan.of(config, map.epoch(), List.of(new ExpertPeer(peer, new HostedExperts(map.routedByLayer(worker)))));
        return new RemoteExpertStage(config, plan, FP32, ExpertFailover.REPLICAS);
    }

    private static float[] row(ModelConfig config) {
        float[] x = new float[config.hiddenSize()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) Math.sin(i + 1);
        }
        return x;
    }

    private static ExpertRoutes route(int expert) {
        return new ExpertRoutes(1, 1, new int[]{expert}, new float[]{1f});
    }

    private static void awaitLoaded(ClusterMember member, String worker, long epoch) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            if (member.members().stream().anyMatch(m -> m.getNodeId().equals(worker) && m.getLoadedEpoch() == epoch)) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the expert worker did not load shard map epoch " + epoch + " within 20 s");
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
