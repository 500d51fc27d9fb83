package dev.expertmesh.moe;

import java.util.Arrays;

/**
 * For each of {@code tokens} rows, k (expert id, weight) pairs: row t's pairs are at [t·k, t·k + k).
 * Within a MoE layer routed experts are 0..n_routed_experts-1 and the shared expert is
 * n_routed_experts; a dense layer's MLP is expert 0. A negative id is an empty slot, for rows that
 * have fewer experts than others (a row's experts on one expert worker).
 */
public record ExpertRoutes(int tokens, int k, int[] expertIds, float[] weights) {
    public ExpertRoutes {
        if (expertIds.length != tokens * k || weights.length != tokens * k) {
            throw new IllegalArgumentException("routes for " + tokens + " tokens of " + k + " experts need "
                    + tokens * k + " ids and weights, got " + expertIds.length + " and " + weights.length);
        }
    }

    /** Every token to one expert with weight 1: a dense MLP, or a shared expert alone. */
    public static ExpertRoutes everyToken(int tokens, int expertId) {
        int[] ids = new int[tokens];
        Arrays.fill(ids, expertId);
        float[] weights = new float[tokens];
        Arrays.fill(weights, 1f);
        return new ExpertRoutes(tokens, 1, ids, weights);
    }

    /** These routes with one more expert, weight 1, appended to every token (the shared expert). */
    public ExpertRoutes plusEveryToken(int expertId) {
        int k1 = k + 1;
        int[] ids = new int[tokens * k1];
        float[] w = new float[tokens * k1];
        for (int t = 0; t < tokens; t++) {
            System.arraycopy(expertIds, t * k, ids, t * k1, k);
            System.arraycopy(weights, t * k, w, t * k1, k);
            ids[t * k1 + k] = expertId;
            w[t * k1 + k] = 1f;
        }
        return new ExpertRoutes(tokens, k1, ids, w);
    }
}
