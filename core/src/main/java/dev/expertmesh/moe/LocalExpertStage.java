package dev.expertmesh.moe;

import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.Quantization;

import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Every layer's experts in this process. Tokens are grouped by expert, so each chosen expert's
 * weights are streamed once per step whatever the number of tokens routed to it.
 */
public final class LocalExpertStage implements ExpertStage {
    private final Backend backend;
    /** experts[layer][id], ids as in {@link ExpertRoutes}. */
    private final Expert[][] experts;

    private LocalExpertStage(Backend backend, Expert[][] experts) {
        this.backend = backend;
        this.experts = experts;
    }

    /** Every expert of every layer, routed and shared ones stored as {@code quantization} says. */
    public static LocalExpertStage load(TensorSource weights, ModelConfig config, Backend backend, Arena arena,
                                        Quantization quantization) {
        Map<Integer, int[]> all = new HashMap<>();
        int[] everyRouted = IntStream.range(0, config.nRoutedExperts()).toArray();
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            all.put(layer, everyRouted);
        }
        return load(weights, config, backend, arena, all, quantization);
    }

    /**
     * Only the routed experts {@code routedByLayer} names for each MoE layer (none for a layer it
     * omits), plus every shared expert and dense MLP, which are small and needed by every token:
     * an expert worker maps no other tensor.
     */
    public static LocalExpertStage load(TensorSource weights, ModelConfig config, Backend backend, Arena arena,
                                        Map<Integer, int[]> routedByLayer) {
        return load(weights, config, backend, arena, routedByLayer, Quantization.NONE);
    }

    /**
     * As {@link #load(TensorSource, ModelConfig, Backend, Arena, Map)}, with the routed and shared
     * experts stored as {@code quantization} says. Dense MLPs stay as the checkpoint has them: they
     * are quantized only with attention, a later option.
     */
    public static LocalExpertStage load(TensorSource weights, ModelConfig config, Backend backend, Arena arena,
                                        Map<Integer, int[]> routedByLayer, Quantization quantization) {
        int hidden = config.hiddenSize();
        Expert[][] experts = new Expert[config.numHiddenLayers()][];
        for (int layer = 0; layer < experts.length; layer++) {
            String mlp = "model.layers." + layer + ".mlp.";
            if (!config.isMoeLayer(layer)) {
                experts[layer] = new Expert[]{Expert.load(weights, mlp, hidden, config.intermediateSize(), arena)};
                continue;
            }
            int routed = config.nRoutedExperts();
            experts[layer] = new Expert[routed + (config.nSharedExperts() > 0 ? 1 : 0)];
            for (int e : routedByLayer.getOrDefault(layer, new int[0])) {
                if (e < 0 || e >= routed) {
                    throw new IllegalArgumentException("layer " + layer + " has routed experts 0.." + (routed - 1) + ", not " + e);
                }
                experts[layer][e] = Expert.load(weights, mlp + "experts." + e + ".", hidden, config.moeIntermediateSize(), arena)
                        .quantized(quantization, arena);
            }
            if (config.nSharedExperts() > 0) {
                experts[layer][routed] = Expert.load(weights, mlp + "shared_experts.", hidden,
                        config.moeIntermediateSize() * config.nSharedExperts(), arena).quantized(quantization, arena);
            }
        }
        return new LocalExpertStage(backend, experts);
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
