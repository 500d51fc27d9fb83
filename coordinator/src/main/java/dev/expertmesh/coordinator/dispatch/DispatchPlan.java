package dev.expertmesh.coordinator.dispatch;

import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.transport.Peer;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Where the expert stage sends tokens under one shard-map epoch: the expert workers, and for each
 * routed expert of each MoE layer the workers that hold a replica of it. Immutable: the stage swaps
 * whole plans, so a layer's call never sees half of a change.
 */
public final class DispatchPlan {
    private final long epoch;
    private final List<ExpertPeer> workers;
    /** replicas[layer][expert]: indexes into workers; null for dense layers. */
    private final int[][][] replicas;

    private DispatchPlan(long epoch, List<ExpertPeer> workers, int[][][] replicas) {
        this.epoch = epoch;
        this.workers = List.copyOf(workers);
        this.replicas = replicas;
    }

    /** The plan of {@code epoch} over {@code workers}, each with the routed experts it hosts. */
    public static DispatchPlan of(ModelConfig config, long epoch, List<ExpertPeer> workers) {
        if (workers.isEmpty()) {
            throw new IllegalArgumentException("the expert stage needs at least one expert worker");
        }
        int[][][] replicas = new int[config.numHiddenLayers()][][];
        for (int layer = 0; layer < replicas.length; layer++) {
            if (!config.isMoeLayer(layer)) {
                continue;
            }
            List<List<Integer>> hosts = new ArrayList<>();
            for (int e = 0; e < config.nRoutedExperts(); e++) {
                hosts.add(new ArrayList<>());
            }
            for (int w = 0; w < workers.size(); w++) {
                for (int e : workers.get(w).experts().routed(layer)) {
                    hosts.get(e).add(w);
                }
            }
            replicas[layer] = hosts.stream().map(h -> h.stream().mapToInt(Integer::intValue).toArray()).toArray(int[][]::new);
        }
        return new DispatchPlan(epoch, workers, replicas);
    }

    public long epoch() {
        return epoch;
    }

    public List<ExpertPeer> workers() {
        return workers;
    }

    /** Workers holding routed expert {@code expert} of MoE layer {@code layer}, as indexes into {@link #workers}. */
    int[] replicas(int layer, int expert) {
        return replicas[layer][expert];
    }

    boolean isMoeLayer(int layer) {
        return replicas[layer] != null;
    }

    /** This epoch's plan without {@code gone}: their replicas are dropped, and experts they alone held have none. */
    public DispatchPlan without(Set<Peer> gone) {
        List<ExpertPeer> kept = workers.stream().filter(w -> !gone.contains(w.peer())).toList();
        int[] newIndex = new int[workers.size()];
        for (int w = 0, next = 0; w < workers.size(); w++) {
            newIndex[w] = gone.contains(workers.get(w).peer()) ? -1 : next++;
        }
        int[][][] left = new int[replicas.length][][];
        for (int layer = 0; layer < replicas.length; layer++) {
            if (replicas[layer] != null) {
                left[layer] = new int[replicas[layer].length][];
                for (int e = 0; e < replicas[layer].length; e++) {
                    left[layer][e] = IntStream.of(replicas[layer][e]).map(w -> newIndex[w]).filter(w -> w >= 0).toArray();
                }
            }
        }
        return new DispatchPlan(epoch, kept, left);
    }

    /** The experts no worker of the plan holds, as "layer L expert E"; empty when the plan can run every token. */
    public List<String> uncovered() {
        List<String> missing = new ArrayList<>();
        for (int layer = 0; layer < replicas.length; layer++) {
            if (replicas[layer] != null) {
                for (int e = 0; e < replicas[layer].length; e++) {
                    if (replicas[layer][e].length == 0) {
                        missing.add("layer " + layer + " expert " + e);
                    }
                }
            }
        }
        return missing;
    }
}
