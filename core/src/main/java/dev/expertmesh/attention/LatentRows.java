package dev.expertmesh.attention;

/**
 * One sequence's MLA cache in one layer: per token only the normalized latent c (kv_lora_rank) and
 * the rotated rope key k_pe (qk_rope_head_dim), side by side (576 values for DeepSeek-V2-Lite).
 * Position t is the row at {@link #offset}(t) of {@link #block}(t), one of the blocks the sequence
 * holds in a {@link LatentBlockStore}.
 */
record LatentRows(float[][] blocks, int blockTokens, int width, int layer) {

    /** The block holding {@code position}. */
    float[] block(int position) {
        return blocks[position / blockTokens];
    }

    /** Where the row of {@code position} starts in its {@link #block}. */
    int offset(int position) {
        return (layer * blockTokens + position % blockTokens) * width;
    }
}
