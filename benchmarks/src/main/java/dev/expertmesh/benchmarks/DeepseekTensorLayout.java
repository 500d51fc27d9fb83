package dev.expertmesh.benchmarks;

import dev.expertmesh.model.ModelConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * Every tensor of a DeepSeek-V2 checkpoint without query compression (V2-Lite), named and shaped as
 * in Hugging Face's checkpoints: the layout the engine's loader expects.
 */
final class DeepseekTensorLayout {
    private DeepseekTensorLayout() {
    }

    static List<TensorSpec> tensors(ModelConfig config) {
        if (config.hasQLora() || !config.hasMoe()) {
            throw new IllegalArgumentException("the synthetic layout is V2-Lite's: MoE, no q_lora_rank");
        }
        long hidden = config.hiddenSize();
        long heads = config.numAttentionHeads();
        List<TensorSpec> tensors = new ArrayList<>();
        tensors.add(new TensorSpec("model.embed_tokens.weight", config.vocabSize(), hidden));
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            String p = "model.layers." + layer + ".";
            tensors.add(new TensorSpec(p + "input_layernorm.weight", hidden));
            tensors.add(new TensorSpec(p + "self_attn.q_proj.weight", heads * config.qkHeadDim(), hidden));
            tensors.add(new TensorSpec(p + "self_attn.kv_a_proj_with_mqa.weight", config.latentCacheWidth(), hidden));
            tensors.add(new TensorSpec(p + "self_attn.kv_a_layernorm.weight", config.kvLoraRank()));
            tensors.add(new TensorSpec(p + "self_attn.kv_b_proj.weight",
                    heads * (config.qkNopeHeadDim() + config.vHeadDim()), config.kvLoraRank()));
            tensors.add(new TensorSpec(p + "self_attn.o_proj.weight", hidden, heads * config.vHeadDim()));
            tensors.add(new TensorSpec(p + "post_attention_layernorm.weight", hidden));
            if (config.isMoeLayer(layer)) {
                tensors.add(new TensorSpec(p + "mlp.gate.weight", config.nRoutedExperts(), hidden));
                for (int e = 0; e < config.nRoutedExperts(); e++) {
                    addMlp(tensors, p + "mlp.experts." + e + ".", hidden, config.moeIntermediateSize());
                }
                addMlp(tensors, p + "mlp.shared_experts.", hidden, (long) config.moeIntermediateSize() * config.nSharedExperts());
            } else {
                addMlp(tensors, p + "mlp.", hidden, config.intermediateSize());
            }
        }
        tensors.add(new TensorSpec("model.norm.weight", hidden));
        tensors.add(new TensorSpec("lm_head.weight", config.vocabSize(), hidden));
        return tensors;
    }

    private static void addMlp(List<TensorSpec> tensors, String prefix, long hidden, long intermediate) {
        tensors.add(new TensorSpec(prefix + "gate_proj.weight", intermediate, hidden));
        tensors.add(new TensorSpec(prefix + "up_proj.weight", intermediate, hidden));
        tensors.add(new TensorSpec(prefix + "down_proj.weight", hidden, intermediate));
    }
}
