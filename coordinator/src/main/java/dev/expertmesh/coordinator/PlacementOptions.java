package dev.expertmesh.coordinator;

import dev.expertmesh.placement.PlacementPolicy;

/**
 * How the coordinator places the routed experts on the expert workers.
 *
 * @param policy              places them at each change of the expert workers, and at each rebalance
 * @param rebalanceEverySteps places them again on the loads routed so far every so many steps; 0 only on demand
 */
public record PlacementOptions(PlacementPolicy policy, int rebalanceEverySteps) {
    public PlacementOptions {
        if (rebalanceEverySteps < 0) {
            throw new IllegalArgumentException("--rebalance-every-steps " + rebalanceEverySteps + ": expected 0 (on demand only) or more");
        }
    }

    public static PlacementOptions of(PlacementPolicy policy) {
        return new PlacementOptions(policy, 0);
    }
}
