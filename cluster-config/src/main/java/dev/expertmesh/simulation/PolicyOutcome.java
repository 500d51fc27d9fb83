package dev.expertmesh.simulation;

import java.util.List;

/**
 * A trace replayed against one placement policy.
 *
 * @param policy  the policy's name, as --placement takes it
 * @param layers  the MoE layers, ascending
 * @param workers the workers, in the order the policy placed on them
 */
public record PolicyOutcome(String policy, List<LayerOutcome> layers, List<WorkerMemory> workers) {

    /** The step time this placement predicts, in tokens of the busiest worker summed over the layers. */
    public double busiestTokens() {
        return layers.stream().mapToDouble(LayerOutcome::busiest).sum();
    }

    /** How many times faster than {@code baseline} the experts' part of a step runs under this placement. */
    public double gainOver(PolicyOutcome baseline) {
        return baseline.busiestTokens() / busiestTokens();
    }

    /** The busiest worker over the mean one, taken over every layer's step time together. */
    public double maxOverMean() {
        return busiestTokens() / layers.stream().mapToDouble(LayerOutcome::mean).sum();
    }
}
