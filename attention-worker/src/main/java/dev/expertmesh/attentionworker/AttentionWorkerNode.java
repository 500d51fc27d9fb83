package dev.expertmesh.attentionworker;

import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.engine.ComputeDevice;
import dev.expertmesh.membership.ClusterMember;
import dev.expertmesh.membership.NodeOptions;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.placement.ShardMap;
import dev.expertmesh.proto.NodeDescriptor;
import dev.expertmesh.proto.Role;
import dev.expertmesh.proto.WorkerState;
import dev.expertmesh.transport.TlsFiles;
import dev.expertmesh.quantization.QuantizationPlan;

import java.util.Optional;

/** The attention-worker role: a Flight server with the paged latent cache that joins the cluster. */
public final class AttentionWorkerNode implements AutoCloseable {
    private final AttentionWorkerServer server;
    private final ClusterMember member;

    private AttentionWorkerNode(AttentionWorkerServer server, ClusterMember member) {
        this.server = server;
        this.member = member;
    }

    /**
     * {@code weights} and {@code device} must outlive the node; the cache holds {@code cacheBlocks}
     * blocks of {@code blockTokens}, the projections stored as {@code plan} says of attention. It
     * announces the device, its memory for weights and the attention's format.
     */
    public static AttentionWorkerNode start(NodeOptions options, TensorSource weights, ModelConfig config, ComputeDevice device,
                                            QuantizationPlan plan, int blockTokens, int cacheBlocks) {
        return start(options, weights, config, device, plan, blockTokens, cacheBlocks, Optional.empty());
    }

    /** As above; with {@code tls}, it serves Flight and its data plane over mutual TLS and says so in its descriptor. */
    public static AttentionWorkerNode start(NodeOptions options, TensorSource weights, ModelConfig config, ComputeDevice device,
                                            QuantizationPlan plan, int blockTokens, int cacheBlocks, Optional<TlsFiles> tls) {
        AttentionWorkerServer server = AttentionWorkerServer.start("attention-worker", options.host(), options.port(), options.dataPort(), weights,
                config, device, plan, blockTokens, cacheBlocks, tls);
        try {
            ClusterMember member = ClusterMember.start(options.member(), NodeDescriptor.newBuilder()
                    .setRole(Role.ATTENTION_WORKER).setHost(options.host()).setPort(server.port()).setDataPort(server.dataPort()).setTls(tls.isPresent())
                    .setDevice(device.name()).setWeightMemoryBytes(device.memoryForWeights())
                    .setAttentionAndDenseQuantization(plan.attentionAndDense().label()).build());
            server.health().set(member.nodeId(), WorkerState.SERVING, ShardMap.UNPUBLISHED);
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

    public int dataPort() {
        return server.dataPort();
    }

    @Override
    public void close() {
        server.health().set(nodeId(), WorkerState.DRAINING, ShardMap.UNPUBLISHED);
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
