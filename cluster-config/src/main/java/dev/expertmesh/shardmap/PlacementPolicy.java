package dev.expertmesh.shardmap;

import dev.expertmesh.model.ModelConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/** Decides which expert workers host each routed expert; the result is {@link ShardMap#UNPUBLISHED}. */
public sealed interface PlacementPolicy permits PlacementPolicy.Contiguous {

    /** @param workers the expert workers' node ids, in the order the policy should use them */
    ShardMap place(ModelConfig config, List<String> workers);

    /**
     * Every MoE layer's routed experts split into contiguous ranges, one per worker, the first n % w workers
     * taking one more. Contiguous ranges keep a worker's experts in few checkpoint reads and make the map easy
     * to read; equal sizes balance memory, though not load (EPLB will).
     */
    record Contiguous() implements PlacementPolicy {
        @Override
        public ShardMap place(ModelConfig config, List<String> workers) {
            if (workers.isEmpty()) {
                throw new IllegalArgumentException("no expert workers to place " + config.nRoutedExperts() + " experts on");
            }
            int experts = config.nRoutedExperts();
            int base = experts / workers.size();
            int larger = experts % workers.size();
            List<List<String>> workersByExpert = new ArrayList<>(experts);
            for (int w = 0; w < workers.size(); w++) {
                int count = base + (w < larger ? 1 : 0);
                for (int i = 0; i < count; i++) {
                    workersByExpert.add(List.of(workers.get(w)));
                }
            }
            var placement = new LayerPlacement(workersByExpert);
            SortedMap<Integer, LayerPlacement> layers = new TreeMap<>();
            for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
                if (config.isMoeLayer(layer)) {
                    layers.put(layer, placement);
                }
            }
            return new ShardMap(ShardMap.UNPUBLISHED, layers);
        }
    }
}
