package dev.expertmesh.engine;

import dev.expertmesh.attention.SequenceChunk;

import java.util.List;

/**
 * The decoder loop of a model whose activations stay in one device's memory from the embedding to
 * the next tokens (the single-process GPU engine). {@link DeepseekModel} runs it in place of its own
 * loop over host arrays whenever nothing observes the layers; its stages still hold the caches.
 */
public interface DeviceLoop {

    /** Logits [rows, vocab], as {@link DeepseekModel#forward} returns them; the token ids are in the vocabulary. */
    float[] logits(List<SequenceChunk> chunks, int[] tokenIds, boolean allPositions);

    /** Each chunk's greedy next token (its last position's highest logit, ties to the lower id), chosen on the device. */
    int[] greedyTokens(List<SequenceChunk> chunks, int[] tokenIds);
}
