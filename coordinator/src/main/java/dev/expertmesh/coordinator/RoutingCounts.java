package dev.expertmesh.coordinator;

import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertRoutes;

import java.util.concurrent.atomic.AtomicLongArray;

/** Tokens routed to each (layer, routed expert) since the coordinator started: the load that placement balances. */
final class RoutingCounts implements LayerObserver {
    private final int experts;
    private final AtomicLongArray counts;

    RoutingCounts(ModelConfig config) {
        this.experts = config.nRoutedExperts();
        this.counts = new AtomicLongArray(config.numHiddenLayers() * Math.max(experts, 1));
    }

    @Override
    public void routed(int layer, ExpertRoutes routes) {
        for (int id : routes.expertIds()) {
            counts.incrementAndGet(layer * experts + id);
        }
    }

    long tokens(int layer, int expert) {
        return counts.get(layer * experts + expert);
    }
}
