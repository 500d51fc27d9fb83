package dev.expertmesh.benchmarks;

import dev.expertmesh.attention.CacheBlocks;
import dev.expertmesh.attentionworker.AttentionWorkerServer;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.coordinator.dispatch.DispatchPlan;
import dev.expertmesh.coordinator.dispatch.DistributedModel;
import dev.expertmesh.coordinator.dispatch.ExpertFailover;
import dev.expertmesh.coordinator.dispatch.ExpertPeer;
import dev.expertmesh.coordinator.dispatch.ReplicaLoads;
import dev.expertmesh.engine.CpuDevice;
import dev.expertmesh.engine.DeepseekModel;
import dev.expertmesh.expertworker.ExpertWorkerServer;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.placement.HostedExperts;
import dev.expertmesh.transport.TransportOptions;
import dev.expertmesh.quantization.QuantizationPlan;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code local} command's cluster in this JVM without its control plane: two expert workers
 * with the routed experts striped over them and one attention worker, on 127.0.0.1, and a
 * coordinator's model connected to them over the data plane with the default (bf16) transport. Every role
 * reads the one {@code weights}, which outlives the cluster.
 */
final class LocalCluster implements AutoCloseable {
    private static final String HOST = "127.0.0.1";
    private static final int EXPERT_WORKERS = 2;
    private static final long EPOCH = 1;
    /** The local command's default pool: far more than a benchmark's short sequences need. */
    private static final int CACHE_BLOCKS = 1024;

    private final List<AutoCloseable> workers = new ArrayList<>();
    private final Arena arena = Arena.ofShared();
    private final DistributedModel model;

    LocalCluster(TensorSource weights, ModelConfig config, int microBatches) {
        try {
            List<ExpertPeer> experts = new ArrayList<>();
            for (int w = 0; w < EXPERT_WORKERS; w++) {
                HostedExperts hosted = HostedExperts.striped(config, w, EXPERT_WORKERS);
                ExpertWorkerServer server = ExpertWorkerServer.start("expert-" + w, HOST, weights, config, new CpuDevice(), QuantizationPlan.NONE, hosted, EPOCH);
                workers.add(server);
                experts.add(new ExpertPeer(server.peer(HOST), hosted));
            }
            AttentionWorkerServer attention = AttentionWorkerServer.start("attention-0", HOST, weights, config, new CpuDevice(),
                    QuantizationPlan.NONE, CacheBlocks.DEFAULT_BLOCK_TOKENS, CACHE_BLOCKS);
            workers.add(attention);
            model = DistributedModel.connect(weights, config, new CpuBackend(), arena,
                    List.of(attention.peer(HOST)), DispatchPlan.of(config, EPOCH, experts),
                    TransportOptions.DEFAULT.withMicroBatches(microBatches), ExpertFailover.REPLICAS, (lost, since) -> { }, ReplicaLoads.NONE);
        } catch (RuntimeException e) {
            closeWorkers();
            throw e;
        }
    }

    DeepseekModel model() {
        return model.model();
    }

    /** The coordinator's streams first, so that no worker keeps a connection nobody uses. */
    @Override
    public void close() {
        model.close();
        closeWorkers();
    }

    private void closeWorkers() {
        for (AutoCloseable worker : workers.reversed()) {
            try {
                worker.close();
            } catch (Exception e) {
                throw new IllegalStateException("stopping " + worker, e);
            }
        }
        arena.close();
    }
}
