package dev.expertmesh.placement;

import dev.expertmesh.model.ModelConfig;

import java.util.Arrays;

/**
 * Tokens routed to each routed expert of each layer over some recent window, the load a placement
 * balances; rows of dense layers are zero.
 *
 * @param byLayer [layers][routed experts]
 */
public record ExpertLoads(float[][] byLayer) {

    /** Every expert equally loaded: what a cluster that has routed nothing yet knows. */
    public static ExpertLoads uniform(ModelConfig config) {
        float[][] loads = new float[config.numHiddenLayers()][config.nRoutedExperts()];
        for (int layer = 0; layer < loads.length; layer++) {
            if (config.isMoeLayer(layer)) {
                Arrays.fill(loads[layer], 1f);
            }
        }
        return new ExpertLoads(loads);
    }

    /** What placement can weigh of a layer's expert load. */
    @FunctionalInterface
    public interface Tokens {
        long routed(int layer, int expert);
    }

    /**
     * Loads from tokens routed; a MoE layer that has routed nothing counts every expert as equally
     * loaded, so that replicas spread instead of all going to the first expert.
     */
    public static ExpertLoads routed(ModelConfig config, Tokens tokens) {
        float[][] loads = uniform(config).byLayer();
        for (int layer = 0; layer < loads.length; layer++) {
            long total = 0;
            for (int expert = 0; expert < config.nRoutedExperts(); expert++) {
                total += tokens.routed(layer, expert);
            }
            if (total > 0 && config.isMoeLayer(layer)) {
                for (int expert = 0; expert < config.nRoutedExperts(); expert++) {
                    loads[layer][expert] = tokens.routed(layer, expert);
                }
            }
        }
        return new ExpertLoads(loads);
    }

    public float[] layer(int layer) {
        return byLayer[layer];
    }
}
