package dev.expertmesh.attention;

import java.util.ArrayDeque;

/**
 * A fixed number of latent cache blocks shared by the sequences of one attention stage. A block
 * holds {@code blockTokens} consecutive positions of one sequence, for every layer, so a sequence
 * needs ceil(length / blockTokens) blocks whatever its layer count. Freed blocks are reused rather
 * than reallocated; blocks are allocated on first use, so an unbounded pool costs only what is used.
 */
public final class LatentBlockPool {
    public static final int DEFAULT_BLOCK_TOKENS = 64;

    private final int layers;
    private final int width;
    private final int blockTokens;
    private final int capacity;
    private final ArrayDeque<float[]> recycled = new ArrayDeque<>();
    private int used;

    public LatentBlockPool(int layers, int width, int blockTokens, int capacity) {
        if (blockTokens <= 0 || capacity <= 0) {
            throw new IllegalArgumentException("a latent block pool needs blockTokens > 0 and capacity > 0, got "
                    + blockTokens + " and " + capacity);
        }
        this.layers = layers;
        this.width = width;
        this.blockTokens = blockTokens;
        this.capacity = capacity;
    }

    /** A pool limited only by the heap: the single-process engine's. */
    public static LatentBlockPool unbounded(int layers, int width) {
        return new LatentBlockPool(layers, width, DEFAULT_BLOCK_TOKENS, Integer.MAX_VALUE);
    }

    public int layers() {
        return layers;
    }

    public int width() {
        return width;
    }

    public int blockTokens() {
        return blockTokens;
    }

    public int capacity() {
        return capacity;
    }

    public synchronized int freeBlocks() {
        return capacity - used;
    }

    /** Blocks needed for positions [0, tokens). */
    public int blocksFor(int tokens) {
        return (tokens + blockTokens - 1) / blockTokens;
    }

    synchronized float[] take(long sequenceId) {
        if (used == capacity) {
            throw new CacheExhaustedException("no free latent cache block for sequence " + sequenceId + ": all "
                    + capacity + " blocks of " + blockTokens + " tokens are in use");
        }
        used++;
        float[] block = recycled.poll();
        return block != null ? block : new float[layers * blockTokens * width];
    }

    synchronized void give(float[] block) {
        used--;
        recycled.push(block);
    }
}
