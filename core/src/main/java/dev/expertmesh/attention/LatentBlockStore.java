package dev.expertmesh.attention;

import java.util.ArrayList;
import java.util.List;

/**
 * The host's latent cache rows by block id ({@link CacheBlocks} says which sequence holds which):
 * a block is [layer, blockTokens, width] floats, allocated when its id is first used and kept
 * for the sequences that hold the id later.
 */
final class LatentBlockStore {
    private final int layers;
    private final int blockTokens;
    private final int width;
    private final List<float[]> blocks = new ArrayList<>();

    LatentBlockStore(int layers, int blockTokens, int width) {
        this.layers = layers;
        this.blockTokens = blockTokens;
        this.width = width;
    }

    /** The rows of {@code layer} in the blocks {@code blockIds}, in position order. */
    synchronized LatentRows rows(int[] blockIds, int layer) {
        float[][] held = new float[blockIds.length][];
        for (int i = 0; i < blockIds.length; i++) {
            held[i] = block(blockIds[i]);
        }
        return new LatentRows(held, blockTokens, width, layer);
    }

    private float[] block(int id) {
        while (blocks.size() <= id) {
            blocks.add(null);
        }
        if (blocks.get(id) == null) {
            blocks.set(id, new float[layers * blockTokens * width]);
        }
        return blocks.get(id);
    }
}
