package dev.expertmesh.moe;

import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.QuantizationPlan;

import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.stream.IntStream;

/**
 * Every layer's experts in this process. Tokens are grouped by expert, so each chosen expert's
 * weights are streamed once per step whatever the number of tokens routed to it.
 */
public final class LocalExpertStage implements ExpertStage {
    private final Backend backend;
    /** experts[layer][id], ids as in {@link ExpertRoutes}. */
    private final Expert[][] experts;

    LocalExpertStage(Backend backend, Expert[][] experts) {
        this.backend = backend;
        this.experts = experts;
    }

    /** Every expert of every layer, stored as {@code plan} says. */
    public static LocalExpertStage load(TensorSource weights, ModelConfig config, Backend backend, Arena arena,
                                        QuantizationPlan plan) {
        Map<Integer, int[]> all = new HashMap<>();
        int[] everyRouted = IntStream.range(0, config.nRoutedExperts()).toArray();
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            all.put(layer, everyRouted);
        }
        return load(weights, config, backend, arena, all, plan);
    }

    /**
     * Only the routed experts {@code routedByLayer} names for each MoE layer (none for a layer it
     * omits), plus every shared expert and dense MLP, which are small and needed by every token, all
     * stored as {@code plan} says: an expert worker maps no other tensor, and quantizes no other.
     */
    public static LocalExpertStage load(TensorSource weights, ModelConfig config, Backend backend, Arena arena,
                                        Map<Integer, int[]> routedByLayer, QuantizationPlan plan) {
        ExpertSource source = new ExpertSource(weights, config, plan);
        Expert[][] experts = source.withoutRouted(arena);
        for (int layer = 0; layer < experts.length; layer++) {
            if (!config.isMoeLayer(layer)) {
                continue;
            }
            for (int e : routedByLayer.getOrDefault(layer, new int[0])) {
                source.checkRouted(layer, e);
                experts[layer][e] = source.routed(layer, e, arena);
            }
        }
        return new LocalExpertStage(backend, experts);
    }

    /** Expert {@code id} of {@code layer} (ids as in {@link ExpertRoutes}) as held here; empty where it is not loaded. */
    public Optional<Expert> expert(int layer, int id) {
        return Optional.ofNullable(experts[layer][id]);
    }

    @Override
    public float[] forward(int layer, int microBatch, float[] x, ExpertRoutes routes) {
        int hidden = x.length / routes.tokens();
        float[] out = new float[x.length];
        Expert[] layerExperts = experts[layer];
        int[] count = new int[layerExperts.length];
        for (int id : routes.expertIds()) {
            if (id >= 0) {
                count[id]++;
            }
        }
        for (int id = 0; id < layerExperts.length; id++) {
            if (count[id] == 0) {
                continue;
            }
            if (layerExperts[id] == null) {
                throw new IllegalArgumentException("expert " + id + " of layer " + layer + " is not loaded here");
            }
            int[] tokens = new int[count[id]];
            float[] weights = new float[count[id]];
            float[] gathered = new float[count[id] * hidden];
            int n = 0;
            for (int slot = 0; slot < routes.expertIds().length; slot++) {
                if (routes.expertIds()[slot] == id) {
                    tokens[n] = slot / routes.k();
                    weights[n] = routes.weights()[slot];
                    System.arraycopy(x, tokens[n] * hidden, gathered, n * hidden, hidden);
                    n++;
                }
            }
            float[] expertOut = layerExperts[id].forward(backend, gathered, n);
            for (int i = 0; i < n; i++) {
                backend.axpy(weights[i], expertOut, i * hidden, out, tokens[i] * hidden, hidden);
            }
        }
        return out;
    }
}
