package dev.expertmesh.moe;

import dev.expertmesh.backend.Backend;
import dev.expertmesh.model.ModelConfig;

import java.util.Arrays;

/** How a token's k experts are chosen from its n expert scores (config.json's topk_method). */
public sealed interface Routing {

    /** Writes the ids of the k chosen experts to {@code chosen}, given scores[offset, offset + n). */
    void choose(Backend backend, float[] scores, int offset, int n, int k, int[] chosen);

    /** The routing config.json names; {@code correctionBias} (e_score_correction_bias) is read by noaux_tc alone. */
    static Routing of(ModelConfig config, float[] correctionBias) {
        return switch (config.topkMethod()) {
            case GREEDY -> new Greedy();
            case GROUP_LIMITED_GREEDY -> new GroupLimitedGreedy(config.nGroup(), config.topkGroup());
            case NOAUX_TC -> new NoAuxTc(config.nGroup(), config.topkGroup(), correctionBias);
        };
    }

    /** Top-k over all experts. */
    record Greedy() implements Routing {
        @Override
        public void choose(Backend backend, float[] scores, int offset, int n, int k, int[] chosen) {
            backend.topK(scores, offset, n, k, chosen);
        }
    }

    /** Top-k among the topkGroup groups whose best expert scores highest (device-limited routing). */
    record GroupLimitedGreedy(int nGroup, int topkGroup) implements Routing {
        @Override
        public void choose(Backend backend, float[] scores, int offset, int n, int k, int[] chosen) {
            int groupSize = n / nGroup;
            float[] groupScores = new float[nGroup];
            for (int g = 0; g < nGroup; g++) {
                float best = Float.NEGATIVE_INFINITY;
                for (int e = g * groupSize; e < (g + 1) * groupSize; e++) {
                    best = Math.max(best, scores[offset + e]);
                }
                groupScores[g] = best;
            }
            chooseWithinGroups(backend, Arrays.copyOfRange(scores, offset, offset + n), groupScores, nGroup, topkGroup, k, chosen);
        }
    }

    /**
     * DeepSeek-V3's auxiliary-loss-free routing: choose by score + correction bias, within the
     * topkGroup groups with the highest sum of their two best biased scores.
     */
    record NoAuxTc(int nGroup, int topkGroup, float[] correctionBias) implements Routing {
        @Override
        public void choose(Backend backend, float[] scores, int offset, int n, int k, int[] chosen) {
            int groupSize = n / nGroup;
            float[] biased = new float[n];
            for (int e = 0; e < n; e++) {
                biased[e] = scores[offset + e] + correctionBias[e];
            }
            float[] groupScores = new float[nGroup];
            int[] bestTwo = new int[2];
            for (int g = 0; g < nGroup; g++) {
                backend.topK(biased, g * groupSize, groupSize, 2, bestTwo);
                groupScores[g] = biased[g * groupSize + bestTwo[0]] + biased[g * groupSize + bestTwo[1]];
            }
            chooseWithinGroups(backend, biased, groupScores, nGroup, topkGroup, k, chosen);
        }
    }

    /**
     * Top-k of {@code choice} after zeroing every expert outside the best topkGroup groups (zero, not
     * minus infinity, as transformers masks; the two differ only when kept scores are negative).
     */
    private static void chooseWithinGroups(Backend backend, float[] choice, float[] groupScores, int nGroup, int topkGroup,
                                           int k, int[] chosen) {
        int groupSize = choice.length / nGroup;
        int[] keptGroups = new int[topkGroup];
        backend.topK(groupScores, 0, nGroup, topkGroup, keptGroups);
        boolean[] kept = new boolean[nGroup];
        for (int g : keptGroups) {
            kept[g] = true;
        }
        for (int e = 0; e < choice.length; e++) {
            if (!kept[e / groupSize]) {
                choice[e] = 0f;
            }
        }
        backend.topK(choice, 0, choice.length, k, chosen);
    }
}
