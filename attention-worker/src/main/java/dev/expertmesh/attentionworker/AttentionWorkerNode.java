package dev.expertmesh.attentionworker;

import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.membership.ClusterMember;
import dev.expertmesh.membership.NodeOptions;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.proto.NodeDescriptor;
import dev.expertmesh.proto.Role;

/** The attention-worker role: a Flight server with the paged latent cache that joins the cluster. */
public final class AttentionWorkerNode implements AutoCloseable {
    private final AttentionWorkerServer server;
    private final ClusterMember member;

    private AttentionWorkerNode(AttentionWorkerServer server, ClusterMember member) {
        this.server = server;
        this.member = member;
    }

    /** {@code weights} must outlive the node; the cache holds {@code cacheBlocks} blocks of {@code blockTokens}. */
    public static AttentionWorkerNode start(NodeOptions options, TensorSource weights, ModelConfig config, Backend backend,
                                            int blockTokens, int cacheBlocks) {
        AttentionWorkerServer server = AttentionWorkerServer.start("attention-worker", options.host(), options.port(), weights,
                config, backend, blockTokens, cacheBlocks);
        try {
            long cacheBytes = (long) cacheBlocks * blockTokens * config.latentCacheWidth() * config.numHiddenLayers() * Float.BYTES;
            ClusterMember member = ClusterMember.start(options.member(), NodeDescriptor.newBuilder()
                    .setRole(Role.ATTENTION_WORKER).setHost(options.host()).setPort(server.port())
                    .setDevice("cpu").setWeightMemoryBytes(cacheBytes).build());
            return new AttentionWorkerNode(server, member);
        } catch (RuntimeException e) {
            stop(server);
            throw e;
        }
    }

    public String nodeId() {
        return member.nodeId();
    }

    public int port() {
        return server.port();
    }

    @Override
    public void close() {
        member.close();
        stop(server);
    }

    private static void stop(AttentionWorkerServer server) {
        try {
            server.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
