package dev.expertmesh.launcher.bench;

import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.moe.ExpertRoutes;

/** Passes a step on to {@code inner}, noting when its embeddings were done and when its final norm was. */
final class StepMarks implements LayerObserver {
    private final LayerObserver inner;
    private final int layers;
    private volatile long embeddedNanos;
    private volatile long normedNanos;

    StepMarks(LayerObserver inner, int layers) {
        this.inner = inner;
        this.layers = layers;
    }

    @Override
    public void hiddenStates(int layer, float[] hidden) {
        if (layer == -1) {
            embeddedNanos = System.nanoTime();
        } else if (layer == layers) {
            normedNanos = System.nanoTime();
        }
        inner.hiddenStates(layer, hidden);
    }

    @Override
    public void routed(int layer, ExpertRoutes routes) {
        inner.routed(layer, routes);
    }

    long embeddedNanos() {
        return embeddedNanos;
    }

    long normedNanos() {
        return normedNanos;
    }
}
