package dev.expertmesh.attention;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The block accounting of one latent cache pool, wherever its storage is. A block holds
 * {@code blockTokens} consecutive positions of one sequence, for every layer, so a sequence needs
 * ceil(length / blockTokens) blocks whatever its layer count; storage, on the host or a device, is
 * indexed by block id. The scheduler sets blocks aside before a step runs, so a step never finds the
 * pool empty halfway through its layers; blocks are held only as positions are written, within what
 * was set aside.
 */
public final class CacheBlocks {
    public static final int DEFAULT_BLOCK_TOKENS = 64;

    private final int layers;
    private final int blockTokens;
    private final int totalBlocks;
    /** Ids given back, reused before any id never handed out: storage stays at the most blocks ever held. */
    private final ArrayDeque<Integer> freed = new ArrayDeque<>();
    /** Ids from here to totalBlocks were never handed out, so an unbounded pool costs only what is used. */
    private int neverHeld;
    private final Map<Long, Held> held = new HashMap<>();
    private final Map<Long, Long> reservedOf = new HashMap<>();
    private long reserved;

    /** A sequence's block ids in position order, and the positions of each layer it has written. */
    private record Held(List<Integer> blocks, int[] lengths) {
    }

    public CacheBlocks(int layers, int blockTokens, int totalBlocks) {
        this(layers, blockTokens, totalBlocks, 0);
    }

    /**
     * A pool of which {@code heldElsewhere} blocks are already in use by others (another
     * coordinator's sequences on an attention worker): they count as held and set aside.
     */
    public CacheBlocks(int layers, int blockTokens, int totalBlocks, int heldElsewhere) {
        if (blockTokens <= 0 || totalBlocks <= 0 || heldElsewhere < 0 || heldElsewhere > totalBlocks) {
            throw new IllegalArgumentException("a latent cache pool needs blockTokens > 0 and 0 <= blocks held elsewhere <= "
                    + "total blocks > 0, got " + blockTokens + ", " + heldElsewhere + " and " + totalBlocks);
        }
        this.layers = layers;
        this.blockTokens = blockTokens;
        this.totalBlocks = totalBlocks;
        this.neverHeld = heldElsewhere;
        this.reserved = heldElsewhere;
    }

    /** A pool limited only by its storage: the single-process engine's heap. */
    public static CacheBlocks unbounded(int layers) {
        return new CacheBlocks(layers, DEFAULT_BLOCK_TOKENS, Integer.MAX_VALUE);
    }

    public int blockTokens() {
        return blockTokens;
    }

    /** Sets aside blocks for the sequence to hold {@code tokens} positions; false, with nothing changed, when too few are free. */
    public synchronized boolean reserve(long sequenceId, int tokens) {
        long needed = reserved().blocksFor(tokens) - reservedOf.getOrDefault(sequenceId, 0L);
        if (needed <= 0) {
            return true;
        }
        if (needed > totalBlocks - reserved) {
            return false;
        }
        reservedOf.merge(sequenceId, needed, Long::sum);
        reserved += needed;
        return true;
    }

    /** Blocks set aside, of all the pool's. */
    public synchronized CacheUsage reserved() {
        return new CacheUsage(blockTokens, reserved, totalBlocks);
    }

    /** Blocks that hold written positions, of all the pool's. */
    public synchronized CacheUsage held() {
        return new CacheUsage(blockTokens, neverHeld - freed.size(), totalBlocks);
    }

    /**
     * Counts positions [start, end) of each chunk written in {@code layer}, taking blocks for those
     * its sequence does not hold yet; a layer's positions from end on are dropped, so a step can be
     * run again from any position already written. Every chunk is checked before anything changes,
     * so a refused step leaves the pool as it was: a chunk may not start beyond its layer's length,
     * and the pool must have the blocks for all of them.
     */
    public synchronized void write(int layer, List<SequenceChunk> chunks) {
        long needed = 0;
        for (SequenceChunk chunk : chunks) {
            int written = length(chunk.sequenceId(), layer);
            if (chunk.start() > written) {
                throw new IllegalStateException("sequence " + chunk.sequenceId() + " has " + written
                        + " cached tokens in layer " + layer + " but the chunk starts at " + chunk.start());
            }
            needed += Math.max(0, reserved().blocksFor(chunk.end()) - blocksOf(chunk.sequenceId()).size());
            if (needed > freeBlocks()) {
                throw new CacheExhaustedException("no free latent cache block for sequence " + chunk.sequenceId() + ": all "
                        + totalBlocks + " blocks of " + blockTokens + " tokens are in use");
            }
        }
        for (SequenceChunk chunk : chunks) {
            Held h = held.computeIfAbsent(chunk.sequenceId(), id -> new Held(new ArrayList<>(), new int[layers]));
            while (h.blocks.size() * (long) blockTokens < chunk.end()) {
                h.blocks.add(take());
            }
            h.lengths[layer] = chunk.end();
        }
    }

    /** Positions of {@code layer} the sequence has written: [0, length). */
    public synchronized int length(long sequenceId, int layer) {
        Held h = held.get(sequenceId);
        return h == null ? 0 : h.lengths[layer];
    }

    /** The sequence's block ids, in position order: position t is in the block at t / blockTokens. */
    public synchronized int[] blocks(long sequenceId) {
        return blocksOf(sequenceId).stream().mapToInt(Integer::intValue).toArray();
    }

    /** Where a held position lies in storage laid out [blocks, blockTokens]: block · blockTokens + offset. */
    public synchronized int slot(long sequenceId, int position) {
        return held.get(sequenceId).blocks.get(position / blockTokens) * blockTokens + position % blockTokens;
    }

    /** Frees the sequence's blocks and the blocks set aside for it. */
    public synchronized void release(long sequenceId) {
        Long blocks = reservedOf.remove(sequenceId);
        if (blocks != null) {
            reserved -= blocks;
        }
        Held h = held.remove(sequenceId);
        if (h != null) {
            h.blocks.forEach(freed::push);
        }
    }

    /** Frees every sequence's blocks and the blocks set aside for them. */
    public synchronized void releaseAll() {
        List.copyOf(held.keySet()).forEach(this::release);
        List.copyOf(reservedOf.keySet()).forEach(this::release);
    }

    private List<Integer> blocksOf(long sequenceId) {
        Held h = held.get(sequenceId);
        return h == null ? List.of() : h.blocks;
    }

    private long freeBlocks() {
        return (long) totalBlocks - neverHeld + freed.size();
    }

    private int take() {
        Integer block = freed.poll();
        return block != null ? block : neverHeld++;
    }
}
