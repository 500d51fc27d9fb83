package dev.expertmesh.moe;

/**
 * The expert half of a decoder layer: rows of post-attention-normed hidden states, each with its
 * (expert id, weight) pairs, in; Σ weight · expert(x) per row out. Runs in-process or on expert workers.
 */
public interface ExpertStage {

    /** Calls for different micro-batches of a step may run at the same time; those of one never do. */
    float[] forward(int layer, int microBatch, float[] x, ExpertRoutes routes);
}
