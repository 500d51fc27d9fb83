package dev.expertmesh.coordinator.dispatch;

import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.engine.DeepseekModel;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.transport.Peer;
import dev.expertmesh.transport.TransportOptions;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.function.ObjLongConsumer;

/**
 * A DeepseekModel whose attention and experts run on workers: the coordinator holds only the
 * embeddings, norms, routers and lm_head, and splits each step into the options' micro-batches.
 * The workers behind the stages change while it serves. Closing it closes the connections, not the workers.
 */
public record DistributedModel(DeepseekModel model, RemoteAttentionStage attention, RemoteExpertStage experts) implements AutoCloseable {

    /**
     * @param failover         where the expert stage re-sends the share of a worker that failed
     * @param attentionLost    hears of each attention worker lost, with when its unanswered call began
     * @param replicaLoads     hears what each expert worker ran of each layer's routed experts
     */
    public static DistributedModel connect(TensorSource weights, ModelConfig config, Backend backend, Arena arena,
                                           List<Peer> attentionWorkers, DispatchPlan plan, TransportOptions options,
                                           ExpertFailover failover, ObjLongConsumer<Peer> attentionLost,
                                           ReplicaLoads replicaLoads) {
        RemoteAttentionStage attention = new RemoteAttentionStage(config, attentionWorkers, options, attentionLost);
        try {
            RemoteExpertStage experts = new RemoteExpertStage(config, plan, options, failover, replicaLoads);
            try {
                return new DistributedModel(DeepseekModel.load(weights, config, backend, arena, attention, experts, options.microBatches()), attention, experts);
            } catch (RuntimeException e) {
                experts.close();
                throw e;
            }
        } catch (RuntimeException e) {
            attention.close();
            throw e;
        }
    }

    @Override
    public void close() {
        attention.close();
        experts.close();
    }
}
