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

    public float[] layer(int layer) {
        return byLayer[layer];
    }
}
