package dev.expertmesh.moe;

import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.QuantizationPlan;

import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Experts in this process, placement after placement, stored as one plan says. Each routed expert
 * is loaded (and quantized) once into an arena of its own, kept while placements keep it and freed
 * when one drops it: a quantized copy is made at load, so loading every placement anew would grow
 * the heap off by a copy of the hosted experts at each rebalance. The coordinator flips to a new
 * placement between steps, so no batch runs on an expert once a placement without it is loaded.
 */
public final class LocalExpertLoader implements ExpertLoader {
    private final ExpertSource source;
    private final Backend backend;
    /** Dense MLPs and shared experts, loaded once; the routed slots stay empty. */
    private final Expert[][] unrouted;
    /** Routed experts loaded, by layer and id. */
    private final Map<Slot, Held> routed = new HashMap<>();

    private record Slot(int layer, int id) {
    }

    private record Held(Expert expert, Arena arena) {
    }

    /** {@code weights} and {@code arena} (where the dense MLPs and shared experts go) must outlive the loader. */
    public LocalExpertLoader(TensorSource weights, ModelConfig config, Backend backend, Arena arena, QuantizationPlan plan) {
        this.source = new ExpertSource(weights, config, plan);
        this.backend = backend;
        this.unrouted = source.withoutRouted(arena);
    }

    @Override
    public synchronized ExpertStage load(Map<Integer, int[]> routedByLayer) {
        Set<Slot> wanted = new HashSet<>();
        routedByLayer.forEach((layer, ids) -> {
            if (source.config().isMoeLayer(layer)) {
                for (int id : ids) {
                    source.checkRouted(layer, id);
                    wanted.add(new Slot(layer, id));
                }
            }
        });
        routed.entrySet().removeIf(held -> {
            boolean dropped = !wanted.contains(held.getKey());
            if (dropped) {
                held.getValue().arena().close();
            }
            return dropped;
        });
        Expert[][] experts = new Expert[unrouted.length][];
        for (int layer = 0; layer < experts.length; layer++) {
            experts[layer] = unrouted[layer].clone();
        }
        for (Slot slot : wanted) {
            experts[slot.layer()][slot.id()] = routed.computeIfAbsent(slot, this::loaded).expert();
        }
        return new LocalExpertStage(backend, experts);
    }

    private Held loaded(Slot slot) {
        Arena arena = Arena.ofShared();
        try {
            return new Held(source.routed(slot.layer(), slot.id(), arena), arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    @Override
    public synchronized void close() {
        routed.values().forEach(held -> held.arena().close());
        routed.clear();
    }
}
