package dev.expertmesh.sampling;

import dev.expertmesh.backend.Backend;

import java.util.ArrayList;
import java.util.List;

/**
 * A generated token's log probability under the model (the raw logits' log-softmax, before
 * temperature and filters, as OpenAI reports it) and the most likely tokens at its position.
 */
public record TokenLogprob(int tokenId, float logprob, List<Alternative> top) {

    public record Alternative(int tokenId, float logprob) {
    }

    public TokenLogprob {
        top = List.copyOf(top);
    }

    /** Of {@code tokenId} given logits[offset, offset + vocab), with the {@code topN} most likely tokens. */
    public static TokenLogprob of(Backend backend, float[] logits, int offset, int vocab, int tokenId, int topN) {
        double logSumExp = logSumExp(logits, offset, vocab);
        int[] best = new int[Math.min(topN, vocab)];
        backend.topK(logits, offset, vocab, best.length, best);
        List<Alternative> top = new ArrayList<>(best.length);
        for (int id : best) {
            top.add(new Alternative(id, (float) (logits[offset + id] - logSumExp)));
        }
        return new TokenLogprob(tokenId, (float) (logits[offset + tokenId] - logSumExp), top);
    }

    private static double logSumExp(float[] logits, int offset, int vocab) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[offset + i]);
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp(logits[offset + i] - max);
        }
        return max + Math.log(sum);
    }
}
