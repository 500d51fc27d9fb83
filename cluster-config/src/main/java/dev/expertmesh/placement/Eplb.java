package dev.expertmesh.placement;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * DeepSeek's expert-parallel load balancer (deepseek-ai/EPLB, eplb.py), ported to give the same plans. Loads are
 * float32 and sorted in torch's order, as there, so that sums, shares and ties come out the same way.
 */
public final class Eplb {

    /** How {@link #rebalance} places a layer. */
    public enum Policy {
        /**
         * Expert groups packed onto nodes first, so that a group's traffic stays inside one node, then replicas made
         * and packed onto GPUs node by node.
         */
        HIERARCHICAL,
        /** Replicas made over all experts and packed onto all GPUs, groups and nodes aside. */
        GLOBAL;

        /** eplb.py's choice: hierarchical when the groups divide among the nodes. */
        public static Policy of(int groups, int nodes) {
            requirePositive(groups, "groups");
            requirePositive(nodes, "nodes");
            return groups % nodes == 0 ? HIERARCHICAL : GLOBAL;
        }
    }

    /** Which pack each item went to, and its place among that pack's items. */
    private record Packing(int[] pack, int[] rankInPack) {
    }

    /** One layer's replicas: each one's logical expert and rank among that expert's replicas; each expert's count. */
    private record Replicas(int[] phy2log, int[] rank, int[] logcnt) {
    }

    private Eplb() {
    }

    /** eplb.py's rebalance_experts: the hierarchical policy where {@link Policy#of} allows it, else the global one. */
    public static EplbPlan rebalance(float[][] weight, int replicas, int groups, int nodes, int gpus) {
        return Policy.of(groups, nodes) == Policy.HIERARCHICAL
                ? hierarchical(weight, replicas, groups, nodes, gpus)
                : global(weight, replicas, gpus);
    }

    /** The global policy: eplb.py runs the hierarchical one with a single group on a single node. */
    public static EplbPlan global(float[][] weight, int replicas, int gpus) {
        return hierarchical(weight, replicas, 1, 1, gpus);
    }

    /**
     * eplb.py's rebalance_experts_hierarchical.
     *
     * @param weight   [layers][experts]: each expert's load, e.g. the tokens routed to it
     * @param replicas physical experts per layer, a multiple of {@code gpus} and at least the experts
     * @param groups   expert groups (group-limited routing), dividing the experts and divided by the nodes
     * @param nodes    server nodes, whose GPUs share faster links among themselves than with other nodes
     * @param gpus     a multiple of {@code nodes}
     */
    public static EplbPlan hierarchical(float[][] weight, int replicas, int groups, int nodes, int gpus) {
        requireShapes(weight, replicas, groups, nodes, gpus);
        return plan(Arrays.stream(weight).map(w -> hierarchicalLayer(w, replicas, groups, nodes, gpus)).toArray(Replicas[]::new));
    }

    private static Replicas hierarchicalLayer(float[] weight, int replicas, int groups, int nodes, int gpus) {
        int[] log2mlog = nodeMajorOrder(groupLoads(weight, groups), weight.length / groups, nodes);
        int[] mlog2log = inverse(log2mlog);
        int expertsPerNode = weight.length / nodes;
        int replicasPerNode = replicas / nodes;
        int[] phy2log = new int[replicas];
        int[] rank = new int[replicas];
        int[] mlogcnt = new int[weight.length];
        for (int node = 0; node < nodes; node++) {
            int firstExpert = node * expertsPerNode;
            int[] nodeExperts = Arrays.copyOfRange(mlog2log, firstExpert, firstExpert + expertsPerNode);
            float[] nodeLoads = loadsOf(weight, nodeExperts);
            Replicas inNode = packedOntoGpus(replicateExperts(nodeLoads, replicasPerNode), nodeLoads, gpus / nodes);
            for (int slot = 0; slot < replicasPerNode; slot++) {
                phy2log[node * replicasPerNode + slot] = nodeExperts[inNode.phy2log()[slot]];
                rank[node * replicasPerNode + slot] = inNode.rank()[slot];
            }
            System.arraycopy(inNode.logcnt(), 0, mlogcnt, firstExpert, expertsPerNode);
        }
        return new Replicas(phy2log, rank, IntStream.of(log2mlog).map(m -> mlogcnt[m]).toArray());
    }

    /** Each group's load: the sum of its experts', in float32 as eplb.py sums them. */
    private static float[] groupLoads(float[] weight, int groups) {
        int groupSize = weight.length / groups;
        float[] loads = new float[groups];
        for (int e = 0; e < weight.length; e++) {
            loads[e / groupSize] += weight[e];
        }
        return loads;
    }

    /**
     * log2mlog[expert]: the expert's position once groups are packed onto nodes and numbered node by node, so that
     * each node's experts form one contiguous range (eplb.py's "mlog" ids).
     */
    private static int[] nodeMajorOrder(float[] groupLoads, int groupSize, int nodes) {
        Packing groupsToNodes = balancedPacking(groupLoads, nodes);
        int groupsPerNode = groupLoads.length / nodes;
        return IntStream.range(0, groupLoads.length * groupSize).map(e -> {
            int group = e / groupSize;
            return (groupsToNodes.pack()[group] * groupsPerNode + groupsToNodes.rankInPack()[group]) * groupSize + e % groupSize;
        }).toArray();
    }

    private static float[] loadsOf(float[] weight, int[] experts) {
        float[] loads = new float[experts.length];
        for (int i = 0; i < experts.length; i++) {
            loads[i] = weight[experts[i]];
        }
        return loads;
    }

    /**
     * eplb.py's replicate_experts: the first replica of each expert in order, then each extra one to the expert whose
     * replicas carry the most load each, which minimises the largest load of any replica.
     */
    private static Replicas replicateExperts(float[] weight, int replicas) {
        int[] phy2log = new int[replicas];
        int[] rank = new int[replicas];
        int[] logcnt = new int[weight.length];
        for (int e = 0; e < weight.length; e++) {
            phy2log[e] = e;
            logcnt[e] = 1;
        }
        for (int p = weight.length; p < replicas; p++) {
            int busiest = busiestPerReplica(weight, logcnt);
            phy2log[p] = busiest;
            rank[p] = logcnt[busiest]++;
        }
        return new Replicas(phy2log, rank, logcnt);
    }

    /** The expert with the largest load per replica, the first of equals as torch's max picks it. */
    private static int busiestPerReplica(float[] weight, int[] logcnt) {
        int busiest = 0;
        for (int e = 1; e < weight.length; e++) {
            if (weight[e] / logcnt[e] > weight[busiest] / logcnt[busiest]) {
                busiest = e;
            }
        }
        return busiest;
    }

    /** Reorders a node's replicas into GPU slots, each replica weighing its expert's load shared among its replicas. */
    private static Replicas packedOntoGpus(Replicas replicas, float[] weight, int gpus) {
        int[] phy2log = replicas.phy2log();
        float[] replicaLoads = new float[phy2log.length];
        for (int p = 0; p < phy2log.length; p++) {
            replicaLoads[p] = weight[phy2log[p]] / replicas.logcnt()[phy2log[p]];
        }
        Packing toGpus = balancedPacking(replicaLoads, gpus);
        int perGpu = phy2log.length / gpus;
        int[] slotToReplica = inverse(IntStream.range(0, phy2log.length)
                .map(p -> toGpus.pack()[p] * perGpu + toGpus.rankInPack()[p]).toArray());
        return new Replicas(IntStream.of(slotToReplica).map(p -> phy2log[p]).toArray(),
                IntStream.of(slotToReplica).map(p -> replicas.rank()[p]).toArray(), replicas.logcnt());
    }

    /**
     * eplb.py's balanced_packing: items by load, heaviest first, each into the lightest pack not yet full, so that
     * every pack gets the same number of items and loads as even as this greedy makes them.
     */
    private static Packing balancedPacking(float[] weight, int packs) {
        int perPack = weight.length / packs;
        if (perPack == 1) {
            // eplb.py keeps the items in place here rather than packing them by load
            return new Packing(IntStream.range(0, weight.length).toArray(), new int[weight.length]);
        }
        int[] pack = new int[weight.length];
        int[] rankInPack = new int[weight.length];
        float[] packLoad = new float[packs];
        int[] packSize = new int[packs];
        for (int item : TorchSortOrder.descending(weight)) {
            int p = lightestOpenPack(packLoad, packSize, perPack);
            pack[item] = p;
            rankInPack[item] = packSize[p]++;
            packLoad[p] += weight[item];
        }
        return new Packing(pack, rankInPack);
    }

    /** The first of the lightest packs with room left, as Python's min over them picks it. */
    private static int lightestOpenPack(float[] packLoad, int[] packSize, int perPack) {
        int lightest = -1;
        for (int p = 0; p < packLoad.length; p++) {
            if (packSize[p] < perPack && (lightest < 0 || packLoad[p] < packLoad[lightest])) {
                lightest = p;
            }
        }
        return lightest;
    }

    private static int[] inverse(int[] permutation) {
        int[] inverse = new int[permutation.length];
        for (int i = 0; i < permutation.length; i++) {
            inverse[permutation[i]] = i;
        }
        return inverse;
    }

    /** The layers' replicas in EPLB's shapes; log2phy is as wide as the most replicas any expert of any layer has. */
    private static EplbPlan plan(Replicas[] layers) {
        int width = Arrays.stream(layers).flatMapToInt(r -> IntStream.of(r.logcnt())).max().orElseThrow();
        int[][][] log2phy = new int[layers.length][][];
        for (int layer = 0; layer < layers.length; layer++) {
            Replicas r = layers[layer];
            log2phy[layer] = new int[r.logcnt().length][width];
            for (int[] row : log2phy[layer]) {
                Arrays.fill(row, -1);
            }
            for (int p = 0; p < r.phy2log().length; p++) {
                log2phy[layer][r.phy2log()[p]][r.rank()[p]] = p;
            }
        }
        return new EplbPlan(Arrays.stream(layers).map(Replicas::phy2log).toArray(int[][]::new), log2phy,
                Arrays.stream(layers).map(Replicas::logcnt).toArray(int[][]::new));
    }

    /** Every condition eplb.py asserts, each refused with what to change. */
    private static void requireShapes(float[][] weight, int replicas, int groups, int nodes, int gpus) {
        requirePositive(groups, "groups");
        requirePositive(nodes, "nodes");
        requirePositive(gpus, "GPUs");
        if (weight.length == 0 || weight[0].length == 0) {
            throw new IllegalArgumentException("no expert loads (give one row of loads per MoE layer, one load per expert)");
        }
        int experts = weight[0].length;
        for (int layer = 0; layer < weight.length; layer++) {
            if (weight[layer].length != experts) {
                throw new IllegalArgumentException("layer " + layer + " has " + weight[layer].length + " expert loads but layer 0 has "
                        + experts + " (give every layer a load for each expert)");
            }
            for (int e = 0; e < experts; e++) {
                if (!Float.isFinite(weight[layer][e])) {
                    throw new IllegalArgumentException("layer " + layer + " expert " + e + " has load " + weight[layer][e]
                            + " (give finite loads, e.g. token counts)");
                }
            }
        }
        if (experts % groups != 0) {
            throw new IllegalArgumentException(experts + " experts do not split into " + groups + " equal groups (use a number of groups that divides "
                    + experts + ")");
        }
        if (groups % nodes != 0) {
            throw new IllegalArgumentException(groups + " expert groups do not split evenly among " + nodes
                    + " nodes (use a number of nodes that divides the groups, or the global policy)");
        }
        if (gpus % nodes != 0) {
            throw new IllegalArgumentException(gpus + " GPUs do not split evenly among " + nodes + " nodes (use a multiple of " + nodes + " GPUs)");
        }
        if (replicas % gpus != 0) {
            throw new IllegalArgumentException(replicas + " replicas do not split evenly among " + gpus + " GPUs (use a multiple of " + gpus
                    + " replicas)");
        }
        if (replicas < experts) {
            throw new IllegalArgumentException(replicas + " replicas cannot hold " + experts + " experts (use at least " + experts + " replicas)");
        }
    }

    private static void requirePositive(int count, String what) {
        if (count <= 0) {
            throw new IllegalArgumentException("the number of " + what + " must be positive, got " + count);
        }
    }
}
