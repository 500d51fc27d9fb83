package dev.expertmesh.attention;

import java.util.HashMap;
import java.util.Map;

/**
 * The cache blocks set aside for each sequence of one pool. Blocks are set aside before a step
 * runs, so a step never finds the pool empty halfway through its layers; the pool itself hands
 * out blocks only as positions are written, within what was set aside.
 */
public final class BlockLedger {
    private final int blockTokens;
    private final long totalBlocks;
    private final Map<Long, Long> blocksOf = new HashMap<>();
    private long used;

    public BlockLedger(int blockTokens, long totalBlocks, long usedByOthers) {
        this.blockTokens = blockTokens;
        this.totalBlocks = totalBlocks;
        this.used = usedByOthers;
    }

    /** Sets aside blocks for the sequence to hold {@code tokens} positions; false, with nothing changed, when too few are free. */
    public synchronized boolean reserve(long sequenceId, int tokens) {
        long needed = usage().blocksFor(tokens) - blocksOf.getOrDefault(sequenceId, 0L);
        if (needed <= 0) {
            return true;
        }
        if (needed > totalBlocks - used) {
            return false;
        }
        blocksOf.merge(sequenceId, needed, Long::sum);
        used += needed;
        return true;
    }

    public synchronized boolean holds(long sequenceId) {
        return blocksOf.containsKey(sequenceId);
    }

    public synchronized void release(long sequenceId) {
        Long blocks = blocksOf.remove(sequenceId);
        if (blocks != null) {
            used -= blocks;
        }
    }

    public synchronized CacheUsage usage() {
        return new CacheUsage(blockTokens, used, totalBlocks);
    }
}
