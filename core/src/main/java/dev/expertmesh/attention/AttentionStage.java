package dev.expertmesh.attention;

import java.util.List;

/**
 * The attention half of a decoder layer: hidden rows in, x + o_proj(MLA(input_layernorm(x))) out,
 * the sequences' latent caches kept inside. Runs in-process or on an attention worker.
 */
public interface AttentionStage {

    /** The rows of {@code hidden} belong to {@code chunks}, in order; returns the new hidden rows. */
    float[] forward(int layer, List<SequenceChunk> chunks, float[] hidden);

    /** Frees a finished sequence's cache. */
    void release(long sequenceId);
}
