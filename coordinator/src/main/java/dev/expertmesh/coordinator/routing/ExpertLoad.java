package dev.expertmesh.coordinator.routing;

import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;

/**
 * The routing window at one moment.
 *
 * @param steps    steps the window covers (fewer than {@code capacity} until that many have run)
 * @param capacity steps the window holds at most
 * @param experts  routed experts per layer: cells are layer × experts + expert
 * @param tokens   per cell: tokens routed to each logical expert
 * @param byWorker per expert worker's node id, per cell: tokens that worker's replica ran
 */
public record ExpertLoad(int steps, int capacity, int experts, long[] tokens, Map<String, long[]> byWorker) {

    public ExpertLoad {
        tokens = tokens.clone();
        byWorker = Map.copyOf(byWorker);
    }

    public long tokens(int layer, int expert) {
        return tokens[layer * experts + expert];
    }

    /** The workers whose replica of (layer, expert) ran tokens in the window, with those tokens, by node id. */
    public Map<String, Long> replicaTokens(int layer, int expert) {
        Map<String, Long> replicas = new TreeMap<>();
        byWorker.forEach((node, cells) -> {
            if (cells[layer * experts + expert] > 0) {
                replicas.put(node, cells[layer * experts + expert]);
            }
        });
        return replicas;
    }

    /** Each worker's tokens of {@code layer}: those of the window, and {@code serving} ones at 0 if they ran none. */
    public LayerBalance balance(int layer, Collection<String> serving) {
        Map<String, Long> perWorker = new TreeMap<>();
        serving.forEach(node -> perWorker.put(node, 0L));
        byWorker.forEach((node, cells) -> {
            long sum = 0;
            for (int e = 0; e < experts; e++) {
                sum += cells[layer * experts + e];
            }
            perWorker.merge(node, sum, Long::sum);
        });
        return new LayerBalance(layer, perWorker);
    }
}
