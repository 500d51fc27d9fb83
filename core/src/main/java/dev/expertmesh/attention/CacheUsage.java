package dev.expertmesh.attention;

/** Latent cache blocks of an attention stage: {@code usedBlocks} of {@code totalBlocks}, each of {@code blockTokens} positions. */
public record CacheUsage(int blockTokens, long usedBlocks, long totalBlocks) {

    public long freeBlocks() {
        return totalBlocks - usedBlocks;
    }

    /** Blocks needed for positions [0, tokens). */
    public long blocksFor(int tokens) {
        return (tokens + (long) blockTokens - 1) / blockTokens;
    }

    public CacheUsage plus(CacheUsage other) {
        return new CacheUsage(blockTokens, usedBlocks + other.usedBlocks, totalBlocks + other.totalBlocks);
    }
}
