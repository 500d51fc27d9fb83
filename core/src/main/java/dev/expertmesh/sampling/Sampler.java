package dev.expertmesh.sampling;

import dev.expertmesh.backend.Backend;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Draws one sequence's tokens: greedy, or temperature with top-k and top-p (nucleus) filtering. */
public final class Sampler {
    private final SamplingParams params;
    private final SplittableRandom random;

    public Sampler(SamplingParams params) {
        this.params = params;
        this.random = params.seed() == null ? new SplittableRandom() : new SplittableRandom(params.seed());
    }

    /** The next token given logits[offset, offset + vocab). */
    public int sample(Backend backend, float[] logits, int offset, int vocab) {
        int[] best = new int[1];
        if (params.greedy()) {
            backend.topK(logits, offset, vocab, 1, best);
            return best[0];
        }
        int[] candidates = candidatesByLogit(backend, logits, offset, vocab);
        float[] probs = new float[candidates.length];
        // Shifted by the highest logit (candidates[0]) first, so a tiny temperature cannot overflow to +inf.
        float maxLogit = logits[offset + candidates[0]];
        for (int i = 0; i < candidates.length; i++) {
            probs[i] = (float) ((logits[offset + candidates[i]] - maxLogit) / params.temperature());
        }
        backend.softmax(probs, 0, probs.length);
        int kept = nucleus(probs);
        double total = 0;
        for (int i = 0; i < kept; i++) {
            total += probs[i];
        }
        double u = random.nextDouble() * total;
        for (int i = 0; i < kept; i++) {
            u -= probs[i];
            if (u < 0) {
                return candidates[i];
            }
        }
        return candidates[kept - 1];
    }

    /**
     * The candidate token ids, highest logit first: the top-k of them, or all when top-k is off (in
     * id order when top-p is off too, since only the nucleus needs them sorted).
     */
    private int[] candidatesByLogit(Backend backend, float[] logits, int offset, int vocab) {
        int k = params.topK() == 0 ? vocab : Math.min(params.topK(), vocab);
        if (k < vocab) {
            int[] top = new int[k];
            backend.topK(logits, offset, vocab, k, top);
            return top;
        }
        if (params.topP() >= 1) {
            int[] all = new int[vocab];
            backend.topK(logits, offset, vocab, 1, all);
            // The highest first (the temperature shift subtracts candidates[0]'s logit), the rest in id order.
            int best = all[0];
            for (int i = 0, id = 0; id < vocab; id++) {
                if (id != best) {
                    all[++i] = id;
                }
            }
            return all;
        }
        // A full sort by (logit, id): order-preserving int keys of the floats in the high half.
        long[] keyed = new long[vocab];
        for (int i = 0; i < vocab; i++) {
            int bits = Float.floatToIntBits(logits[offset + i]);
            int ordered = bits < 0 ? ~bits : bits | Integer.MIN_VALUE;
            keyed[i] = ((long) ordered << 32 ^ Long.MIN_VALUE) | (vocab - 1 - i);
        }
        Arrays.sort(keyed);
        int[] ids = new int[vocab];
        for (int i = 0; i < vocab; i++) {
            ids[i] = vocab - 1 - (int) keyed[vocab - 1 - i];
        }
        return ids;
    }

    /** How many of the probabilities (sorted descending) make up the smallest prefix of mass >= top-p. */
    private int nucleus(float[] sortedProbs) {
        if (params.topP() >= 1) {
            return sortedProbs.length;
        }
        double mass = 0;
        for (int i = 0; i < sortedProbs.length; i++) {
            mass += sortedProbs[i];
            if (mass >= params.topP()) {
                return i + 1;
            }
        }
        return sortedProbs.length;
    }
}
