package dev.expertmesh.placement;

import dev.expertmesh.model.ModelConfig;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.IntStream;

/** Decides which expert workers host each routed expert; the result is {@link ShardMap#UNPUBLISHED}. */
public sealed interface PlacementPolicy permits PlacementPolicy.Contiguous {

    /** @param workers the expert workers' node ids, in the order the policy should use them */
    ShardMap place(ModelConfig config, List<String> workers);

    /**
     * Every MoE layer's routed experts split into contiguous ranges, one per worker, the first n % w workers
     * taking one more; then {@code redundantExperts} extra replicas per layer, each on the worker hosting the
     * fewest experts of that layer that does not host it yet. Contiguous ranges keep a worker's experts in few
     * checkpoint reads and make the map easy to read; equal sizes balance memory, though not load (EPLB will).
     * Replicas go to the experts with the fewest so far, taking each worker's range in turn, so that losing any
     * one worker leaves as many of its experts covered as the budget allows.
     */
    record Contiguous(int redundantExperts) implements PlacementPolicy {
        public Contiguous {
            if (redundantExperts < 0) {
                throw new IllegalArgumentException("redundant experts must not be negative, got " + redundantExperts);
            }
        }

        public Contiguous() {
            this(0);
        }

        @Override
        public ShardMap place(ModelConfig config, List<String> workers) {
            if (workers.isEmpty()) {
                throw new IllegalArgumentException("no expert workers to place " + config.nRoutedExperts() + " experts on");
            }
            var placement = new LayerPlacement(withReplicas(ranges(config.nRoutedExperts(), workers.size()), workers.size())
                    .stream().map(hosts -> hosts.stream().map(workers::get).toList()).toList());
            SortedMap<Integer, LayerPlacement> layers = new TreeMap<>();
            for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
                if (config.isMoeLayer(layer)) {
                    layers.put(layer, placement);
                }
            }
            return new ShardMap(ShardMap.UNPUBLISHED, layers);
        }

        /** hosts[expert]: the one worker index of each expert's contiguous range. */
        private static List<List<Integer>> ranges(int experts, int workers) {
            int base = experts / workers;
            int larger = experts % workers;
            List<List<Integer>> hosts = new ArrayList<>(experts);
            for (int w = 0; w < workers; w++) {
                int count = base + (w < larger ? 1 : 0);
                for (int i = 0; i < count; i++) {
                    hosts.add(new ArrayList<>(List.of(w)));
                }
            }
            return hosts;
        }

        /** Adds the replicas; an expert never has two on one worker, so at most workers - 1 extra each. */
        private List<List<Integer>> withReplicas(List<List<Integer>> hosts, int workers) {
            int[] load = new int[workers];
            hosts.forEach(h -> load[h.getFirst()]++);
            int[] rankInRange = new int[hosts.size()];
            for (int e = 1; e < hosts.size(); e++) {
                rankInRange[e] = hosts.get(e).getFirst().equals(hosts.get(e - 1).getFirst()) ? rankInRange[e - 1] + 1 : 0;
            }
            int budget = Math.min(redundantExperts, hosts.size() * (workers - 1));
            for (int r = 0; r < budget; r++) {
                int expert = IntStream.range(0, hosts.size()).boxed()
                        .filter(e -> hosts.get(e).size() < workers)
                        .min(Comparator.<Integer>comparingInt(e -> hosts.get(e).size())
                                .thenComparingInt(e -> rankInRange[e])
                                .thenComparingInt(e -> hosts.get(e).getFirst()))
                        .orElseThrow();
                int worker = IntStream.range(0, workers).boxed()
                        .filter(w -> !hosts.get(expert).contains(w))
                        .min(Comparator.<Integer>comparingInt(w -> load[w]).thenComparingInt(w -> w))
                        .orElseThrow();
                hosts.get(expert).add(worker);
                load[worker]++;
            }
            return hosts;
        }
    }
}
