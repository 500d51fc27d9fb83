package dev.expertmesh.benchmark;

import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.moe.ExpertRoutes;

import java.util.BitSet;

/** The distinct routed experts each layer chose during one forward pass, seen from inside it. */
public final class RoutedExperts implements LayerObserver {
    private final BitSet[] chosen;

    public RoutedExperts(int layers) {
        chosen = new BitSet[layers];
        for (int layer = 0; layer < layers; layer++) {
            chosen[layer] = new BitSet();
        }
    }

    @Override
    public void routed(int layer, ExpertRoutes routes) {
        for (int id : routes.expertIds()) {
            chosen[layer].set(id);
        }
    }

    public boolean contains(int layer, int expert) {
        return chosen[layer].get(expert);
    }
}
