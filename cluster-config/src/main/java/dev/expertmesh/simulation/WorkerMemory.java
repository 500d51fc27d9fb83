package dev.expertmesh.simulation;

/**
 * The routed experts one worker hosts, at its fullest over the replayed windows.
 *
 * @param expertsHosted (layer, expert) pairs over all MoE layers
 * @param bytes         their weights: {@code expertsHosted} times {@link PlacementReplay#bytesPerRoutedExpert}
 */
public record WorkerMemory(String nodeId, int expertsHosted, long bytes) {
}
