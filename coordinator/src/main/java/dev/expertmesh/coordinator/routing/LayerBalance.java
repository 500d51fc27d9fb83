package dev.expertmesh.coordinator.routing;

import java.util.Map;
import java.util.OptionalDouble;

/** The tokens each expert worker ran for one MoE layer over the window, by node id. */
public record LayerBalance(int layer, Map<String, Long> perWorker) {

    public LayerBalance {
        perWorker = Map.copyOf(perWorker);
    }

    public long max() {
        return perWorker.values().stream().mapToLong(Long::longValue).max().orElse(0);
    }

    public double mean() {
        return perWorker.values().stream().mapToLong(Long::longValue).average().orElse(0);
    }

    /**
     * Mean over max of the workers' loads, as SGLang's eplb_balancedness: 1 when every worker ran as
     * many tokens, 1/workers when one ran them all; empty when none ran any.
     */
    public OptionalDouble balancedness() {
        long max = max();
        return max == 0 ? OptionalDouble.empty() : OptionalDouble.of(mean() / max);
    }
}
