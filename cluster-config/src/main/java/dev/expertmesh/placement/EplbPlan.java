package dev.expertmesh.placement;

/**
 * Where EPLB puts each layer's replicas, in EPLB's own shapes: physical replica p lives on GPU p / (replicas / gpus).
 *
 * @param phy2log [layers][replicas]: the logical expert of each physical replica
 * @param log2phy [layers][experts][max replicas]: each expert's replicas, padded with -1
 * @param logcnt  [layers][experts]: how many replicas each expert has
 */
public record EplbPlan(int[][] phy2log, int[][][] log2phy, int[][] logcnt) {
}
