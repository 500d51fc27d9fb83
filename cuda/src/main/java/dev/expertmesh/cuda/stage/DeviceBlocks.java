package dev.expertmesh.cuda.stage;

import dev.expertmesh.attention.CacheExhaustedException;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which blocks of a device latent cache each sequence holds, and how many positions of each layer
 * it has written. A block id addresses the same rows in every layer's cache, as in core's
 * LatentBlockPool; the BlockLedger decides who may grow, this hands out the ids.
 */
final class DeviceBlocks {
    private final int blockTokens;
    private final int layers;
    private final int totalBlocks;
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private final Map<Long, Held> held = new HashMap<>();

    private record Held(List<Integer> blocks, int[] lengths) {
    }

    DeviceBlocks(int blockTokens, int totalBlocks, int layers) {
        this.blockTokens = blockTokens;
        this.layers = layers;
        this.totalBlocks = totalBlocks;
        for (int b = 0; b < totalBlocks; b++) {
            free.add(b);
        }
    }

    int blockTokens() {
        return blockTokens;
    }

    int length(long sequenceId, int layer) {
        Held h = held.get(sequenceId);
        return h == null ? 0 : h.lengths[layer];
    }

    /** Takes blocks until the sequence has room for positions [0, end). */
    void grow(long sequenceId, int end) {
        Held h = held.computeIfAbsent(sequenceId, id -> new Held(new ArrayList<>(), new int[layers]));
        while (h.blocks.size() * blockTokens < end) {
            Integer block = free.poll();
            if (block == null) {
                throw new CacheExhaustedException("no free latent cache block on the GPU for sequence " + sequenceId);
            }
            h.blocks.add(block);
        }
    }

    void setLength(long sequenceId, int layer, int length) {
        held.get(sequenceId).lengths[layer] = length;
    }

    /** The cache slot (block · blockTokens + offset) of a position. */
    int slot(long sequenceId, int position) {
        return held.get(sequenceId).blocks.get(position / blockTokens) * blockTokens + position % blockTokens;
    }

    List<Integer> blocks(long sequenceId) {
        return held.get(sequenceId).blocks;
    }

    int totalBlocks() {
        return totalBlocks;
    }

    /** Blocks some sequence holds. */
    int heldBlocks() {
        return totalBlocks - free.size();
    }

    void release(long sequenceId) {
        Held h = held.remove(sequenceId);
        if (h != null) {
            free.addAll(h.blocks);
        }
    }
}
