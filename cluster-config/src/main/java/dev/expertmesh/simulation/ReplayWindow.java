package dev.expertmesh.simulation;

import dev.expertmesh.placement.ExpertLoads;

/**
 * One stretch of the trace as the replay judges it.
 *
 * @param placedOn the loads the placement is computed from
 * @param routed   the tokens the placement then serves
 */
public record ReplayWindow(ExpertLoads placedOn, ExpertLoads routed) {
}
