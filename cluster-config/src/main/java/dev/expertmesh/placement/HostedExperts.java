package dev.expertmesh.placement;

import dev.expertmesh.model.ModelConfig;

import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;

/**
 * The routed experts one expert worker hosts, per MoE layer. Shared experts and dense MLPs are on
 * every worker and are not listed.
 */
public record HostedExperts(Map<Integer, int[]> routedByLayer) {
    public HostedExperts {
        routedByLayer = Map.copyOf(routedByLayer);
    }

    public int[] routed(int layer) {
        return routedByLayer.getOrDefault(layer, new int[0]);
    }

    /** Every expert any of {@code hosted} names, layer by layer: what a worker holds while epochs overlap. */
    public static HostedExperts union(Collection<HostedExperts> hosted) {
        Map<Integer, int[]> byLayer = new TreeMap<>();
        for (HostedExperts h : hosted) {
            h.routedByLayer().forEach((layer, ids) -> byLayer.merge(layer, ids,
                    (a, b) -> IntStream.concat(IntStream.of(a), IntStream.of(b)).distinct().sorted().toArray()));
        }
        return new HostedExperts(byLayer);
    }

    /** Worker {@code worker} of {@code workers} hosts every routed expert e with e mod workers = worker, in every MoE layer. */
    public static HostedExperts striped(ModelConfig config, int worker, int workers) {
        if (worker < 0 || worker >= workers) {
            throw new IllegalArgumentException("worker " + worker + " is not one of " + workers);
        }
        Map<Integer, int[]> byLayer = new TreeMap<>();
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            if (config.isMoeLayer(layer)) {
                byLayer.put(layer, IntStream.range(0, config.nRoutedExperts()).filter(e -> e % workers == worker).toArray());
            }
        }
        return new HostedExperts(byLayer);
    }
}
