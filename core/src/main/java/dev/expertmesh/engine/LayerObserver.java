package dev.expertmesh.engine;

import dev.expertmesh.moe.ExpertRoutes;

/**
 * Sees a forward pass from inside: what the reference comparisons and debugging need. With several
 * micro-batches, a decoder layer's calls cover one micro-batch's rows and come from its own thread.
 */
public interface LayerObserver {
    LayerObserver NONE = new LayerObserver() {
    };

    /**
     * Rows × hidden: the embedding output as layer -1, each decoder layer's output, and as layer
     * num_hidden_layers the final norm's output for the rows that get logits.
     */
    default void hiddenStates(int layer, float[] hidden) {
    }

    /** A MoE layer's routed choice, before the shared expert is added. */
    default void routed(int layer, ExpertRoutes routes) {
    }
}
