package dev.expertmesh.attention;

import java.util.List;

/**
 * The attention half of a decoder layer: hidden rows in, x + o_proj(MLA(input_layernorm(x))) out,
 * the sequences' latent caches kept inside. Runs in-process or on an attention worker.
 */
public interface AttentionStage {

    /**
     * The rows of {@code hidden} belong to {@code chunks}, in order; returns the new hidden rows.
     * Calls for different micro-batches of a step may run at the same time; those of one never do.
     */
    float[] forward(int layer, int microBatch, List<SequenceChunk> chunks, float[] hidden);

    /** Frees a finished sequence's cache. */
    void release(long sequenceId);
}
