package dev.expertmesh.placement;

/**
 * An expert worker as placement sees it.
 *
 * @param nodeId      its node id, which shard maps name
 * @param host        the machine it runs on: EPLB's hierarchical policy keeps an expert group's traffic on one
 * @param memoryBytes what it offers for weights
 */
public record ExpertWorker(String nodeId, String host, long memoryBytes) {
}
