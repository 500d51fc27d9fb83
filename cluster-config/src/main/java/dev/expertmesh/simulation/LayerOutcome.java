package dev.expertmesh.simulation;

import java.util.Arrays;

/**
 * One MoE layer under one policy, over the replayed windows.
 *
 * @param layer       the decoder layer
 * @param workerLoads tokens each worker ran for this layer, in the workers' order, a replica running its expert's
 *                    tokens divided by the expert's replicas (the coordinator spreads them evenly)
 * @param busiest     the busiest worker's tokens, summed over the windows: this layer's share of the step time,
 *                    since every worker waits for the busiest one
 */
public record LayerOutcome(int layer, double[] workerLoads, double busiest) {

    /** What each worker would run if the layer were perfectly balanced. */
    public double mean() {
        return Arrays.stream(workerLoads).average().orElseThrow();
    }

    /** The busiest worker over the mean one, 1 when balanced: the reciprocal of SGLang's balancedness. */
    public double maxOverMean() {
        return mean() == 0 ? 1 : busiest / mean();
    }
}
