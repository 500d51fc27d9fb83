package dev.expertmesh.attention;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One sequence's MLA cache: per layer and token, only the normalized latent c (kv_lora_rank) and
 * the rotated rope key k_pe (qk_rope_head_dim), side by side: 576 values for DeepSeek-V2-Lite.
 * Positions live in blocks of the pool: position t of a layer is row {@link #rowOffset} of
 * {@link #block}(t).
 */
public final class LatentKvCache {
    private final long sequenceId;
    private final LatentBlockPool pool;
    private final List<float[]> blocks = new ArrayList<>();
    private final int[] lengths;

    public LatentKvCache(long sequenceId, LatentBlockPool pool) {
        this.sequenceId = sequenceId;
        this.pool = pool;
        this.lengths = new int[pool.layers()];
    }

    public int width() {
        return pool.width();
    }

    public int length(int layer) {
        return lengths[layer];
    }

    /** Takes blocks from the pool until positions [0, end) have room. */
    void reserve(int end) {
        while (blocks.size() * pool.blockTokens() < end) {
            blocks.add(pool.take(sequenceId));
        }
    }

    /** The block holding {@code position}, of every layer. */
    float[] block(int position) {
        return blocks.get(position / pool.blockTokens());
    }

    /** Where {@code layer}'s row of {@code position} starts in its {@link #block}. */
    int rowOffset(int layer, int position) {
        int blockTokens = pool.blockTokens();
        return (layer * blockTokens + position % blockTokens) * pool.width();
    }

    void setLength(int layer, int length) {
        lengths[layer] = length;
    }

    /** Returns every block to the pool; the cache is empty afterwards. */
    void free() {
        blocks.forEach(pool::give);
        blocks.clear();
        Arrays.fill(lengths, 0);
    }
}
