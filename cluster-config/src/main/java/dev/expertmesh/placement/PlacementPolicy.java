package dev.expertmesh.placement;

import dev.expertmesh.model.ModelConfig;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.IntFunction;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Decides which expert workers host each routed expert of each MoE layer, from the workers and the
 * experts' recent loads; the result is {@link ShardMap#UNPUBLISHED}. Every policy places every expert
 * on at least one worker and never two replicas of one expert on the same worker.
 */
public sealed interface PlacementPolicy permits PlacementPolicy.Contiguous, PlacementPolicy.EplbGlobal,
        PlacementPolicy.EplbHierarchical, PlacementPolicy.MemoryWeighted {

    /** @param workers the expert workers, in the order the policy should use them */
    ShardMap place(ModelConfig config, List<ExpertWorker> workers, ExpertLoads loads);

    /** Extra replicas per MoE layer beyond one of each expert. */
    int redundantExperts();

    /** The names {@link #named} takes. */
    List<String> NAMES = List.of("contiguous", "eplb-global", "eplb-hierarchical", "memory-weighted");

    /** The policy {@code --placement} names, with {@code redundantExperts} extra replicas per layer. */
    static PlacementPolicy named(String name, int redundantExperts) {
        return switch (name) {
            case "contiguous" -> new Contiguous(redundantExperts);
            case "eplb-global" -> new EplbGlobal(redundantExperts);
            case "eplb-hierarchical" -> new EplbHierarchical(redundantExperts);
            case "memory-weighted" -> new MemoryWeighted(redundantExperts);
            default -> throw new IllegalArgumentException("--placement " + name + ": expected " + String.join(", ", NAMES));
        };
    }

    /**
     * Every MoE layer's routed experts split into contiguous ranges, one per worker, the first n % w workers
     * taking one more; then {@code redundantExperts} extra replicas per layer, each on the worker hosting the
     * fewest experts of that layer that does not host it yet. Contiguous ranges keep a worker's experts in few
     * checkpoint reads and make the map easy to read; equal sizes balance memory, though not load (EPLB does).
     * Replicas go to the experts with the fewest so far, taking each worker's range in turn, so that losing any
     * one worker leaves as many of its experts covered as the budget allows.
     */
    record Contiguous(int redundantExperts) implements PlacementPolicy {
        public Contiguous {
            requireNotNegative(redundantExperts);
        }

        public Contiguous() {
            this(0);
        }

        @Override
        public ShardMap place(ModelConfig config, List<ExpertWorker> workers, ExpertLoads loads) {
            requireWorkers(config, workers);
            List<List<Integer>> hosts = withReplicas(ranges(config.nRoutedExperts(), workers.size()), workers.size());
            return sameInEveryLayer(config, layerOf(hosts, workers));
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

    /**
     * DeepSeek's EPLB, global policy: each layer's experts replicated by load and the replicas packed onto the
     * workers so that every worker carries about the same load, each worker one EPLB "GPU". The replica count
     * is rounded up to a multiple of the workers, as EPLB needs.
     */
    record EplbGlobal(int redundantExperts) implements PlacementPolicy {
        public EplbGlobal {
            requireNotNegative(redundantExperts);
        }

        @Override
        public ShardMap place(ModelConfig config, List<ExpertWorker> workers, ExpertLoads loads) {
            requireWorkers(config, workers);
            return fromEplb(config, workers, replicas -> Eplb.global(moeLoads(config, loads), replicas, workers.size()), redundantExperts);
        }
    }

    /**
     * DeepSeek's EPLB, hierarchical policy: expert groups (of group-limited routing) packed onto machines first,
     * so that a token's experts share one machine's links, then replicated and packed onto that machine's
     * workers. It needs as many workers on every machine and the groups divisible among the machines; where
     * they are not, it places as the global policy does.
     */
    record EplbHierarchical(int redundantExperts) implements PlacementPolicy {
        public EplbHierarchical {
            requireNotNegative(redundantExperts);
        }

        @Override
        public ShardMap place(ModelConfig config, List<ExpertWorker> workers, ExpertLoads loads) {
            requireWorkers(config, workers);
            List<ExpertWorker> byHost = workers.stream().sorted(Comparator.comparing(ExpertWorker::host)).toList();
            int hosts = (int) byHost.stream().map(ExpertWorker::host).distinct().count();
            boolean even = byHost.stream().collect(Collectors.groupingBy(ExpertWorker::host, Collectors.counting())).values().stream().distinct().count() == 1;
            int groups = config.nGroup();
            if (!even || Eplb.Policy.of(groups, hosts) != Eplb.Policy.HIERARCHICAL) {
                return new EplbGlobal(redundantExperts).place(config, workers, loads);
            }
            return fromEplb(config, byHost, replicas -> Eplb.hierarchical(moeLoads(config, loads), replicas, groups, hosts, byHost.size()),
                    redundantExperts);
        }
    }

    /**
     * This project's own: replicas by load as EPLB makes them (each extra one to the expert with the most load
     * per replica, at most one a worker), then, heaviest first, each to the worker with the least load per byte of its memory for
     * weights that has room, a worker's room being its share of the replicas in proportion to its memory. A
     * worker with twice the memory hosts twice the experts and carries twice the load.
     */
    record MemoryWeighted(int redundantExperts) implements PlacementPolicy {
        public MemoryWeighted {
            requireNotNegative(redundantExperts);
        }

        @Override
        public ShardMap place(ModelConfig config, List<ExpertWorker> workers, ExpertLoads loads) {
            requireWorkers(config, workers);
            int experts = config.nRoutedExperts();
            int replicas = experts + Math.min(redundantExperts, experts * (workers.size() - 1));
            int[] room = roomByMemory(workers, replicas);
            SortedMap<Integer, LayerPlacement> layers = new TreeMap<>();
            for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
                if (config.isMoeLayer(layer)) {
                    layers.put(layer, layerOf(packByMemory(loads.layer(layer), replicas, room.clone(), workers), workers));
                }
            }
            return new ShardMap(ShardMap.UNPUBLISHED, layers);
        }

        /** Each worker's share of {@code replicas}, in proportion to its memory (largest remainders round up). */
        private static int[] roomByMemory(List<ExpertWorker> workers, int replicas) {
            double total = workers.stream().mapToDouble(w -> Math.max(1, w.memoryBytes())).sum();
            double[] exact = workers.stream().mapToDouble(w -> replicas * Math.max(1, w.memoryBytes()) / total).toArray();
            int[] room = new int[exact.length];
            int given = 0;
            for (int w = 0; w < room.length; w++) {
                room[w] = (int) Math.floor(exact[w]);
                given += room[w];
            }
            Integer[] byRemainder = IntStream.range(0, room.length).boxed()
                    .sorted(Comparator.<Integer>comparingDouble(w -> room[w] - exact[w]).thenComparingInt(w -> w)).toArray(Integer[]::new);
            for (int i = 0; given < replicas; i++, given++) {
                room[byRemainder[i % room.length]]++;
            }
            return room;
        }

        private static List<List<Integer>> packByMemory(float[] load, int replicas, int[] room, List<ExpertWorker> workers) {
            int[] count = new int[load.length];
            Arrays.fill(count, 1);
            for (int r = load.length; r < replicas; r++) {
                int busiest = -1;
                for (int e = 0; e < load.length; e++) {
                    if (count[e] < workers.size() && (busiest < 0 || load[e] / count[e] > load[busiest] / count[busiest])) {
                        busiest = e;
                    }
                }
                count[busiest]++;
            }
            List<int[]> items = new ArrayList<>();
            for (int e = 0; e < load.length; e++) {
                for (int r = 0; r < count[e]; r++) {
                    items.add(new int[]{e, r});
                }
            }
            items.sort(Comparator.<int[]>comparingDouble(item -> -load[item[0]] / count[item[0]]).thenComparingInt(item -> item[0]));
            double[] carried = new double[workers.size()];
            List<List<Integer>> hosts = IntStream.range(0, load.length).<List<Integer>>mapToObj(e -> new ArrayList<>()).toList();
            for (int[] item : items) {
                int e = item[0];
                int best = -1;
                for (int w = 0; w < workers.size(); w++) {
                    if (room[w] == 0 || hosts.get(e).contains(w)) {
                        continue;
                    }
                    if (best < 0 || carried[w] / workers.get(w).memoryBytes() < carried[best] / workers.get(best).memoryBytes()) {
                        best = w;
                    }
                }
                hosts.get(e).add(best);
                room[best]--;
                carried[best] += load[e] / count[e];
            }
            return hosts;
        }
    }

    private static void requireNotNegative(int redundantExperts) {
        if (redundantExperts < 0) {
            throw new IllegalArgumentException("redundant experts must not be negative, got " + redundantExperts);
        }
    }

    private static void requireWorkers(ModelConfig config, List<ExpertWorker> workers) {
        if (workers.isEmpty()) {
            throw new IllegalArgumentException("no expert workers to place " + config.nRoutedExperts() + " experts on");
        }
    }

    /** One layer's placement from hosts[expert] as worker indexes. */
    private static LayerPlacement layerOf(List<List<Integer>> hosts, List<ExpertWorker> workers) {
        return new LayerPlacement(hosts.stream().map(h -> h.stream().map(w -> workers.get(w).nodeId()).toList()).toList());
    }

    private static ShardMap sameInEveryLayer(ModelConfig config, LayerPlacement placement) {
        SortedMap<Integer, LayerPlacement> layers = new TreeMap<>();
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            if (config.isMoeLayer(layer)) {
                layers.put(layer, placement);
            }
        }
        return new ShardMap(ShardMap.UNPUBLISHED, layers);
    }

    /** The MoE layers' rows of {@code loads}, as EPLB takes them. */
    private static float[][] moeLoads(ModelConfig config, ExpertLoads loads) {
        return IntStream.range(0, config.numHiddenLayers()).filter(config::isMoeLayer).mapToObj(loads::layer).toArray(float[][]::new);
    }

    /**
     * A map from EPLB's plan: physical replica p on worker p / (replicas / workers), a worker holding two
     * replicas of one expert holding it once. The replicas are the experts plus the redundant ones, rounded
     * up to a multiple of the workers.
     */
    private static ShardMap fromEplb(ModelConfig config, List<ExpertWorker> workers, IntFunction<EplbPlan> eplb, int redundantExperts) {
        int w = workers.size();
        int replicas = (config.nRoutedExperts() + redundantExperts + w - 1) / w * w;
        EplbPlan plan = eplb.apply(replicas);
        int perWorker = replicas / w;
        int[] moeLayers = IntStream.range(0, config.numHiddenLayers()).filter(config::isMoeLayer).toArray();
        SortedMap<Integer, LayerPlacement> layers = new TreeMap<>();
        for (int i = 0; i < moeLayers.length; i++) {
            List<List<Integer>> hosts = IntStream.range(0, config.nRoutedExperts()).<List<Integer>>mapToObj(e -> new ArrayList<>()).toList();
            int[] phy2log = plan.phy2log()[i];
            for (int p = 0; p < replicas; p++) {
                List<Integer> h = hosts.get(phy2log[p]);
                if (!h.contains(p / perWorker)) {
                    h.add(p / perWorker);
                }
            }
            layers.put(moeLayers[i], layerOf(hosts, workers));
        }
        return new ShardMap(ShardMap.UNPUBLISHED, layers);
    }
}
