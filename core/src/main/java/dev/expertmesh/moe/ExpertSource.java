package dev.expertmesh.moe;

import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.QuantizationPlan;

import java.lang.foreign.Arena;

/**
 * A checkpoint's MLPs as {@code plan} stores them: routed and shared experts as its experts' format,
 * dense-layer MLPs as its attention-and-dense one (a dense MLP is as wide as attention's projections
 * and runs for every token, like them).
 */
record ExpertSource(TensorSource weights, ModelConfig config, QuantizationPlan plan) {

    /**
     * Every layer's table, [layer][id] as in {@link ExpertRoutes}, with the dense MLPs and shared
     * experts loaded and the routed experts' slots left empty.
     */
    Expert[][] withoutRouted(Arena arena) {
        Expert[][] experts = new Expert[config.numHiddenLayers()][];
        for (int layer = 0; layer < experts.length; layer++) {
            if (!config.isMoeLayer(layer)) {
                experts[layer] = new Expert[]{Expert.load(weights, mlp(layer), config.hiddenSize(), config.intermediateSize(), arena)
                        .quantized(plan.attentionAndDense(), arena)};
                continue;
            }
            int routed = config.nRoutedExperts();
            experts[layer] = new Expert[routed + (config.nSharedExperts() > 0 ? 1 : 0)];
            if (config.nSharedExperts() > 0) {
                experts[layer][routed] = Expert.load(weights, mlp(layer) + "shared_experts.", config.hiddenSize(),
                        config.moeIntermediateSize() * config.nSharedExperts(), arena).quantized(plan.experts(), arena);
            }
        }
        return experts;
    }

    /** Routed expert {@code id} of MoE layer {@code layer}, new bytes in {@code arena}. */
    Expert routed(int layer, int id, Arena arena) {
        return Expert.load(weights, mlp(layer) + "experts." + id + ".", config.hiddenSize(), config.moeIntermediateSize(), arena)
                .quantized(plan.experts(), arena);
    }

    /** Refuses an id that is no routed expert of the layer, naming the layer's range. */
    void checkRouted(int layer, int id) {
        int routed = config.nRoutedExperts();
        if (id < 0 || id >= routed) {
            throw new IllegalArgumentException("layer " + layer + " has routed experts 0.." + (routed - 1) + ", not " + id);
        }
    }

    private static String mlp(int layer) {
        return "model.layers." + layer + ".mlp.";
    }
}
