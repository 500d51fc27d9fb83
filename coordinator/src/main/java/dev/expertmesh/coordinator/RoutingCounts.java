package dev.expertmesh.coordinator;

import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertRoutes;
import dev.expertmesh.placement.ExpertLoads;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Tokens routed to each (layer, routed expert) since the coordinator started: the load that
 * placement balances. The serving scheduler is the one observer of the cluster's forward passes
 * (the cluster's engine has none), so each token counts once per MoE layer and expert it is routed
 * to; a preempted sequence's recomputed tokens are routed, and counted, again.
 */
public final class RoutingCounts implements LayerObserver {
    private final ModelConfig config;
    private final int experts;
    private final AtomicLongArray counts;

    public RoutingCounts(ModelConfig config) {
        this.config = config;
        this.experts = config.nRoutedExperts();
        this.counts = new AtomicLongArray(config.numHiddenLayers() * Math.max(experts, 1));
    }

    @Override
    public void routed(int layer, ExpertRoutes routes) {
        for (int id : routes.expertIds()) {
            counts.incrementAndGet(layer * experts + id);
        }
    }

    public long tokens(int layer, int expert) {
        return counts.get(layer * experts + expert);
    }

    /**
     * The counts as the loads placement balances; a MoE layer that has routed nothing yet counts every
     * expert as equally loaded, so that replicas spread instead of all going to the first expert.
     */
    public ExpertLoads loads() {
        float[][] loads = ExpertLoads.uniform(config).byLayer();
        for (int layer = 0; layer < loads.length; layer++) {
            long routed = 0;
            for (int expert = 0; expert < experts; expert++) {
                routed += tokens(layer, expert);
            }
            if (routed > 0) {
                for (int expert = 0; expert < experts; expert++) {
                    loads[layer][expert] = tokens(layer, expert);
                }
            }
        }
        return new ExpertLoads(loads);
    }
}
