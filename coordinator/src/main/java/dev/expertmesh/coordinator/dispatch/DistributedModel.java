package dev.expertmesh.coordinator.dispatch;

import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.engine.DeepseekModel;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.transport.Peer;
import dev.expertmesh.transport.TransportOptions;

import java.lang.foreign.Arena;
import java.util.List;

/**
 * A DeepseekModel whose attention and experts run on workers: the coordinator holds only the
 * embeddings, norms, routers and lm_head, and splits each step into the options' micro-batches.
 * Closing it closes the connections, not the workers.
 */
public record DistributedModel(DeepseekModel model, RemoteAttentionStage attention, RemoteExpertStage experts) implements AutoCloseable {

    public static DistributedModel connect(TensorSource weights, ModelConfig config, Backend backend, Arena arena,
                                           List<Peer> attentionWorkers, List<ExpertPeer> expertWorkers, long epoch,
                                           TransportOptions options) {
        RemoteAttentionStage attention = new RemoteAttentionStage(config, attentionWorkers, options);
        try {
            RemoteExpertStage experts = new RemoteExpertStage(config, expertWorkers, epoch, options);
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
