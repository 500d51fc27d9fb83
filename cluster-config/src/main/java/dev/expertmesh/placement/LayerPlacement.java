package dev.expertmesh.placement;

import java.util.List;
import java.util.stream.IntStream;

/** The expert workers hosting each routed expert of one MoE layer, indexed by expert. */
public record LayerPlacement(List<List<String>> workersByExpert) {

    public LayerPlacement {
        workersByExpert = workersByExpert.stream().map(List::copyOf).toList();
        for (int expert = 0; expert < workersByExpert.size(); expert++) {
            if (workersByExpert.get(expert).isEmpty()) {
                throw new IllegalArgumentException("expert " + expert + " has no worker");
            }
        }
    }

    public int expertCount() {
        return workersByExpert.size();
    }

    public List<String> workersOf(int expert) {
        if (expert < 0 || expert >= workersByExpert.size()) {
            throw new IllegalArgumentException("expert " + expert + " is not in 0.." + (workersByExpert.size() - 1));
        }
        return workersByExpert.get(expert);
    }

    /** The experts {@code nodeId} hosts, ascending. */
    public List<Integer> expertsOf(String nodeId) {
        return IntStream.range(0, workersByExpert.size())
                .filter(expert -> workersByExpert.get(expert).contains(nodeId))
                .boxed()
                .toList();
    }
}
