package dev.expertmesh.attention;

import java.util.Arrays;

/**
 * One sequence's MLA cache: per layer and token, only the normalized latent c (kv_lora_rank) and
 * the rotated rope key k_pe (qk_rope_head_dim), side by side: 576 values for DeepSeek-V2-Lite.
 */
public final class LatentKvCache {
    private final int width;
    private final float[][] rows;
    private final int[] lengths;

    public LatentKvCache(int layers, int width, int initialTokens) {
        this.width = width;
        this.rows = new float[layers][width * Math.max(initialTokens, 1)];
        this.lengths = new int[layers];
    }

    public int width() {
        return width;
    }

    public int length(int layer) {
        return lengths[layer];
    }

    /** Room for token positions up to {@code end} in {@code layer}, growing by doubling. */
    float[] reserve(int layer, int end) {
        if (rows[layer].length < end * width) {
            rows[layer] = Arrays.copyOf(rows[layer], Math.max(end, 2 * rows[layer].length / width) * width);
        }
        return rows[layer];
    }

    /** The layer's cached rows [0, length) · width, row t at t·width. */
    float[] rows(int layer) {
        return rows[layer];
    }

    void setLength(int layer, int length) {
        lengths[layer] = length;
    }
}
