package dev.expertmesh.benchmark;

import dev.expertmesh.attention.SequenceChunk;
import dev.expertmesh.engine.DeepseekModel;
import dev.expertmesh.engine.LayerObserver;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * {@code batch} sequences (ids 0 to batch - 1) of random short prompts, decoded one step at a time:
 * what a decode-step benchmark runs, whatever runs the model.
 */
public final class DecodeBatch {
    private final int batch;
    private final int promptLength;
    private final int[][] prompts;
    private final int[] stepTokens;
    /** Position of the next decode step's token: every sequence has the same length. */
    private int position;

    public DecodeBatch(int batch, int promptLength, int vocab) {
        this.batch = batch;
        this.promptLength = promptLength;
        SplittableRandom random = new SplittableRandom(3);
        prompts = new int[batch][];
        for (int s = 0; s < batch; s++) {
            prompts[s] = random.ints(promptLength, 0, vocab).toArray();
        }
        stepTokens = random.ints(batch, 0, vocab).toArray();
    }

    /** Puts every prompt in the cache afresh, so the context does not grow from iteration to iteration. */
    public void prefill(DeepseekModel model) {
        List<SequenceChunk> chunks = new ArrayList<>();
        int[] tokens = new int[batch * promptLength];
        for (int s = 0; s < batch; s++) {
            chunks.add(new SequenceChunk(s, 0, promptLength));
            System.arraycopy(prompts[s], 0, tokens, s * promptLength, promptLength);
        }
        model.forward(chunks, tokens, false, LayerObserver.NONE);
        position = promptLength;
    }

    /** One decode step of every sequence; the logits, one row a sequence. */
    public float[] step(DeepseekModel model, LayerObserver observer) {
        float[] logits = model.forward(decodeChunks(), stepTokens, false, observer);
        position++;
        return logits;
    }

    /** One decode step of every sequence, unobserved, as a greedy scheduler step runs it: each sequence's next token. */
    public int[] greedyStep(DeepseekModel model) {
        int[] next = model.greedyTokens(decodeChunks(), stepTokens, LayerObserver.NONE);
        position++;
        return next;
    }

    private List<SequenceChunk> decodeChunks() {
        List<SequenceChunk> chunks = new ArrayList<>(batch);
        for (int s = 0; s < batch; s++) {
            chunks.add(new SequenceChunk(s, position, 1));
        }
        return chunks;
    }

    /** Frees the sequences' caches (on a cluster, the attention worker's blocks). */
    public void release(DeepseekModel model) {
        for (int s = 0; s < batch; s++) {
            model.release(s);
        }
    }
}
