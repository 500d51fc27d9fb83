package dev.expertmesh.moe;

import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.model.RoutingMethod;
import dev.expertmesh.model.ScoringFunction;
import dev.expertmesh.tensor.Weight;

import java.lang.foreign.Arena;

/**
 * A MoE layer's gate: scores every routed expert for each token (softmax or sigmoid of x·Wᵀ), picks
 * k of them by the layer's {@link Routing}, and weighs each by its score, normalized if
 * norm_topk_prob and scaled by routed_scaling_factor.
 */
public record Router(Weight gate, ScoringFunction scoring, Routing routing, int topK, boolean normalize, float scalingFactor) {

    public static Router load(TensorSource weights, ModelConfig config, int layer, Arena arena) {
        String p = "model.layers." + layer + ".mlp.gate.";
        int experts = config.nRoutedExperts();
        float[] bias = config.topkMethod() == RoutingMethod.NOAUX_TC
                ? Weight.toFloats(weights.tensor(p + "e_score_correction_bias", experts))
                : null;
        return new Router(Weight.load(weights, p + "weight", experts, config.hiddenSize(), arena),
                config.scoringFunc(), Routing.of(config, bias), config.numExpertsPerTok(),
                config.normTopkProb(), (float) config.routedScalingFactor());
    }

    /** The k experts and weights of each of the rows of {@code x}. */
    public ExpertRoutes route(Backend backend, float[] x, int rows) {
        int experts = gate.rows();
        float[] scores = new float[rows * experts];
        backend.matmul(gate, x, rows, scores);
        int[] ids = new int[rows * topK];
        float[] weights = new float[rows * topK];
        int[] chosen = new int[topK];
        for (int r = 0; r < rows; r++) {
            int at = r * experts;
            score(backend, scores, at, experts);
            routing.choose(backend, scores, at, experts, topK, chosen);
            float sum = 0;
            for (int j = 0; j < topK; j++) {
                sum += scores[at + chosen[j]];
            }
            float scale = normalize ? scalingFactor / (sum + 1e-20f) : scalingFactor;
            for (int j = 0; j < topK; j++) {
                ids[r * topK + j] = chosen[j];
                weights[r * topK + j] = scores[at + chosen[j]] * scale;
            }
        }
        return new ExpertRoutes(rows, topK, ids, weights);
    }

    private void score(Backend backend, float[] logits, int offset, int n) {
        switch (scoring) {
            case SOFTMAX -> backend.softmax(logits, offset, n);
            case SIGMOID -> {
                for (int i = offset; i < offset + n; i++) {
                    logits[i] = (float) (1.0 / (1.0 + Math.exp(-logits[i])));
                }
            }
        }
    }
}
