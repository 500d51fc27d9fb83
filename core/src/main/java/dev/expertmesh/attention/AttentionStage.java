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

    /**
     * Sets aside cache blocks for the sequence to hold {@code tokens} positions (those it has count);
     * false, with nothing set aside, when the stage, or the worker holding the sequence, has too few
     * free. The scheduler grows sequences only through this, so a step never runs out of blocks midway.
     */
    boolean reserve(long sequenceId, int tokens);

    /** Blocks set aside and in all, over every place the stage keeps caches. */
    CacheUsage cacheUsage();

    /** Frees a finished sequence's cache and the blocks set aside for it. */
    void release(long sequenceId);
}
