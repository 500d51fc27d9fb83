package dev.expertmesh.moe;

import java.util.Map;

/**
 * Loads the experts a placement puts in this process: the routed experts it names for each MoE
 * layer, and every shared expert and dense MLP. An expert worker calls it on each new shard map;
 * each call's stage serves that placement.
 */
public interface ExpertLoader extends AutoCloseable {

    ExpertStage load(Map<Integer, int[]> routedByLayer);

    /** Frees what the loads hold beyond mapped checkpoint tensors. */
    @Override
    void close();
}
