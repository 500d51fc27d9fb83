package dev.expertmesh.expertworker;

import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.engine.ComputeDevice;
import dev.expertmesh.membership.ClusterMember;
import dev.expertmesh.membership.NodeOptions;
import dev.expertmesh.membership.Subscription;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.proto.NodeDescriptor;
import dev.expertmesh.proto.Role;
import dev.expertmesh.shardmap.ShardMap;
import dev.expertmesh.shardmap.ShardMapStore;
import dev.expertmesh.transport.HostedExperts;

import java.util.Map;

/**
 * The expert-worker role: a Flight server that joins the cluster, serves nothing until the
 * coordinator's shard map places experts on it, then loads exactly those (and the shared experts
 * and dense MLPs) and announces the epoch it serves.
 */
public final class ExpertWorkerNode implements AutoCloseable {
    private final ExpertWorkerServer server;
    private final ClusterMember member;
    private final ShardMapStore shardMaps;
    private final Subscription subscription;

    private ExpertWorkerNode(ExpertWorkerServer server, ClusterMember member, ShardMapStore shardMaps, Subscription subscription) {
        this.server = server;
        this.member = member;
        this.shardMaps = shardMaps;
        this.subscription = subscription;
    }

    /** {@code weights} and {@code device} must outlive the node; it announces the device and its memory for weights. */
    public static ExpertWorkerNode start(NodeOptions options, TensorSource weights, ModelConfig config, ComputeDevice device) {
        ExpertWorkerServer server = ExpertWorkerServer.start("expert-worker", options.host(), options.port(), weights, config,
                device, new HostedExperts(Map.of()), ShardMap.UNPUBLISHED);
        ClusterMember member = null;
        ShardMapStore shardMaps = null;
        try {
            member = ClusterMember.start(options.member(), NodeDescriptor.newBuilder()
                    .setRole(Role.EXPERT_WORKER).setHost(options.host()).setPort(server.port())
                    .setDevice(device.name()).setWeightMemoryBytes(device.memoryForWeights()).build());
            shardMaps = new ShardMapStore(member.hazelcast());
            ClusterMember self = member;
            Subscription subscription = shardMaps.subscribe(map -> {
                server.assign(new HostedExperts(map.routedByLayer(self.nodeId())), map.epoch());
                self.announceLoadedEpoch(map.epoch());
            });
            return new ExpertWorkerNode(server, member, shardMaps, subscription);
        } catch (RuntimeException e) {
            closeAll(server, member, shardMaps);
            throw e;
        }
    }

    public String nodeId() {
        return member.nodeId();
    }

    public int port() {
        return server.port();
    }

    /** Leaves the cluster first, so the coordinator stops routing here, then stops serving. */
    @Override
    public void close() {
        subscription.close();
        closeAll(server, member, shardMaps);
    }

    private static void closeAll(ExpertWorkerServer server, ClusterMember member, ShardMapStore shardMaps) {
        if (shardMaps != null) {
            shardMaps.close();
        }
        if (member != null) {
            member.close();
        }
        try {
            server.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
