package dev.expertmesh.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.expertmesh.model.ModelConfig;

/**
 * config.json of deepseek-ai/DeepSeek-V2-Lite, with as many decoder layers as asked (27 in the real
 * one): every width is the real one, so that random weights in this shape measure what the real
 * model's decode steps cost.
 */
public final class V2LiteShape {
    public static final int LAYERS = 27;

    private V2LiteShape() {
    }

    public static ModelConfig withLayers(int layers) {
        return ModelConfig.parse(json(layers));
    }

    private static ObjectNode json(int layers) {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.putArray("architectures").add("DeepseekV2ForCausalLM");
        c.put("model_type", "deepseek_v2");
        c.put("torch_dtype", "bfloat16");
        c.put("vocab_size", 102400);
        c.put("hidden_size", 2048);
        c.put("intermediate_size", 10944);
        c.put("moe_intermediate_size", 1408);
        c.put("num_hidden_layers", layers);
        c.put("num_attention_heads", 16);
        c.put("num_key_value_heads", 16);
        c.put("n_shared_experts", 2);
        c.put("n_routed_experts", 64);
        c.put("num_experts_per_tok", 6);
        c.put("first_k_dense_replace", 1);
        c.put("moe_layer_freq", 1);
        c.put("kv_lora_rank", 512);
        c.putNull("q_lora_rank");
        c.put("qk_rope_head_dim", 64);
        c.put("qk_nope_head_dim", 128);
        c.put("v_head_dim", 128);
        c.put("topk_method", "greedy");
        c.put("n_group", 1);
        c.put("topk_group", 1);
        c.put("scoring_func", "softmax");
        c.put("norm_topk_prob", false);
        c.put("routed_scaling_factor", 1.0);
        c.put("hidden_act", "silu");
        c.put("rms_norm_eps", 1e-6);
        c.put("rope_theta", 10000);
        c.put("max_position_embeddings", 163840);
        ObjectNode yarn = c.putObject("rope_scaling");
        yarn.put("type", "yarn");
        yarn.put("factor", 40);
        yarn.put("original_max_position_embeddings", 4096);
        yarn.put("beta_fast", 32);
        yarn.put("beta_slow", 1);
        yarn.put("mscale", 0.707);
        yarn.put("mscale_all_dim", 0.707);
        c.put("bos_token_id", 100000);
        c.put("eos_token_id", 100001);
        c.put("tie_word_embeddings", false);
        return c;
    }
}
