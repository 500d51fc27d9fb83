package dev.expertmesh.coordinator;

import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertRoutes;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Tokens routed to each (layer, routed expert) since the coordinator started: the load that
 * placement balances. The serving scheduler is the one observer of the cluster's forward passes
 * (the cluster's engine has none), so each token counts once per MoE layer and expert it is routed
 * to; a preempted sequence's recomputed tokens are routed, and counted, again.
 */
public final class RoutingCounts implements LayerObserver {
    private final int experts;
    private final AtomicLongArray counts;

    public RoutingCounts(ModelConfig config) {
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
}
