package dev.expertmesh.coordinator.dispatch;

/**
 * Hears which physical replica served each routed slot: per MoE layer call, each expert worker
 * that answered and the tokens it ran for each routed expert. Called from the micro-batches'
 * threads at once; a share sent again after a failure counts once, on the worker that answered it.
 */
@FunctionalInterface
public interface ReplicaLoads {
    ReplicaLoads NONE = (layer, nodeId, tokensPerExpert) -> {
    };

    /** {@code tokensPerExpert[e]}: tokens worker {@code nodeId} ran through routed expert e of {@code layer} in this call. */
    void answered(int layer, String nodeId, int[] tokensPerExpert);
}
