package dev.expertmesh.placement;

import dev.expertmesh.proto.ExpertPlacement;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Which expert workers host each routed expert of each MoE layer. Dense layers and shared experts are absent:
 * every expert worker holds them. The epoch names one published version; {@link #UNPUBLISHED} marks a placement
 * that the store has not numbered yet.
 *
 * @param layers MoE layer index to its placement
 */
public record ShardMap(long epoch, SortedMap<Integer, LayerPlacement> layers) {
    public static final long UNPUBLISHED = 0;

    public ShardMap {
        if (epoch < 0) {
            throw new IllegalArgumentException("shard map epoch must not be negative, got " + epoch);
        }
        layers = Collections.unmodifiableSortedMap(new TreeMap<>(layers));
    }

    public ShardMap withEpoch(long newEpoch) {
        return new ShardMap(newEpoch, layers);
    }

    public List<String> workersOf(int layer, int expert) {
        return layer(layer).workersOf(expert);
    }

    /** The routed experts of {@code layer} that {@code nodeId} must load; none for a dense layer. */
    public List<Integer> expertsOf(String nodeId, int layer) {
        LayerPlacement placement = layers.get(layer);
        return placement == null ? List.of() : placement.expertsOf(nodeId);
    }

    /** Every MoE layer's routed experts hosted by {@code nodeId}: what that expert worker loads. */
    public Map<Integer, int[]> routedByLayer(String nodeId) {
        Map<Integer, int[]> hosted = new TreeMap<>();
        layers.forEach((layer, placement) ->
                hosted.put(layer, placement.expertsOf(nodeId).stream().mapToInt(Integer::intValue).toArray()));
        return hosted;
    }

    /** The expert workers hosting some routed expert, in node id order. */
    public List<String> workers() {
        return layers.values().stream()
                .flatMap(layer -> layer.workersByExpert().stream())
                .flatMap(List::stream)
                .distinct().sorted().toList();
    }

    private LayerPlacement layer(int layer) {
        LayerPlacement placement = layers.get(layer);
        if (placement == null) {
            throw new IllegalArgumentException("layer " + layer + " is not an MoE layer of shard map epoch " + epoch);
        }
        return placement;
    }

    public dev.expertmesh.proto.ShardMap toProto() {
        var proto = dev.expertmesh.proto.ShardMap.newBuilder().setEpoch(epoch);
        layers.forEach((layer, placement) -> {
            for (int expert = 0; expert < placement.expertCount(); expert++) {
                proto.addPlacements(ExpertPlacement.newBuilder()
                        .setLayer(layer)
                        .setExpert(expert)
                        .addAllNodeIds(placement.workersOf(expert)));
            }
        });
        return proto.build();
    }

    /** Placements may come in any order, but each layer must name every expert 0..n-1 exactly once. */
    public static ShardMap fromProto(dev.expertmesh.proto.ShardMap proto) {
        SortedMap<Integer, SortedMap<Integer, List<String>>> byLayer = new TreeMap<>();
        for (ExpertPlacement p : proto.getPlacementsList()) {
            var experts = byLayer.computeIfAbsent(p.getLayer(), _ -> new TreeMap<>());
            if (experts.put(p.getExpert(), p.getNodeIdsList()) != null) {
                throw new IllegalArgumentException("shard map epoch " + proto.getEpoch() + " places layer " + p.getLayer()
                        + " expert " + p.getExpert() + " twice");
            }
        }
        SortedMap<Integer, LayerPlacement> layers = new TreeMap<>();
        byLayer.forEach((layer, experts) -> {
            if (experts.firstKey() != 0 || experts.lastKey() != experts.size() - 1) {
                throw new IllegalArgumentException("shard map epoch " + proto.getEpoch() + " layer " + layer
                        + " places experts " + experts.keySet() + ", not 0.." + (experts.size() - 1));
            }
            layers.put(layer, new LayerPlacement(new ArrayList<>(experts.values())));
        });
        return new ShardMap(proto.getEpoch(), layers);
    }
}
