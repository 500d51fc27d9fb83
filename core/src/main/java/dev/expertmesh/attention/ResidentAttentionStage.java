package dev.expertmesh.attention;

import java.util.List;

/**
 * An attention stage whose latent caches are in this process, on the host or a device: what an
 * attention worker serves. Its output can leave out the residual, and it tells how many of its
 * cache blocks hold positions now.
 */
public interface ResidentAttentionStage extends AttentionStage, AutoCloseable {

    /**
     * o_proj(MLA(input_layernorm(x))) without the residual, for callers that keep the residual
     * stream themselves at a higher precision than they can send it.
     */
    float[] attentionOutput(int layer, List<SequenceChunk> chunks, float[] hidden);

    /** Blocks that hold cached positions now, of all the stage's blocks (reservations are the caller's to count). */
    CacheUsage blocksHeld();

    /** Frees every cache, and the device memory of a device stage. */
    @Override
    void close();
}
