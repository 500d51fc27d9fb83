package dev.expertmesh.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.tokenizer.Tokenizer;
import dev.expertmesh.quantization.QuantizationPlan;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * {@code --model demo}: a small DeepSeek-V2-Lite-shaped model (MLA without query compression, a dense
 * first layer, softmax top-k over routed experts plus shared experts, YaRN) with DeepSeek-V3's
 * tokenizer and vocabulary. Its weights are random, made in memory at start: it shows the system
 * working end to end without a download, and its text is gibberish. {@code --model demo-skewed} is
 * the same model with routers that prefer a few experts in each layer ({@link SkewedRouting}): a
 * workload for load balancing.
 */
public final class DemoModel {
    public static final String NAME = "demo";
    public static final String SKEWED_NAME = "demo-skewed";
    private static final String RESOURCES = "/dev/expertmesh/demo/";
    private static final long SEED = 2024;
    public static final String ORIGIN = "random weights (the demo model: its text is gibberish)";

    private static final Map<String, Object> CONFIG = Map.ofEntries(
            Map.entry("model_type", "deepseek_v2"),
            Map.entry("vocab_size", 129280),
            Map.entry("hidden_size", 256),
            Map.entry("intermediate_size", 768),
            Map.entry("moe_intermediate_size", 128),
            Map.entry("num_hidden_layers", 4),
            Map.entry("num_attention_heads", 4),
            Map.entry("n_shared_experts", 2),
            Map.entry("n_routed_experts", 16),
            Map.entry("num_experts_per_tok", 4),
            Map.entry("first_k_dense_replace", 1),
            Map.entry("kv_lora_rank", 64),
            Map.entry("qk_rope_head_dim", 16),
            Map.entry("qk_nope_head_dim", 32),
            Map.entry("v_head_dim", 32),
            Map.entry("topk_method", "greedy"),
            Map.entry("scoring_func", "softmax"),
            Map.entry("max_position_embeddings", 4096),
            Map.entry("rope_scaling", Map.of("type", "yarn", "factor", 4.0, "original_max_position_embeddings", 1024,
                    "beta_fast", 32, "beta_slow", 1, "mscale", 0.707, "mscale_all_dim", 0.707)),
            Map.entry("bos_token_id", 0),
            Map.entry("eos_token_id", 1));

    private DemoModel() {
    }

    public static ModelConfig config() {
        return ModelConfig.parse(new ObjectMapper().valueToTree(CONFIG));
    }

    public static Engine engine(Backend backend) {
        return Engine.create(config(), weights(), backend, ORIGIN, QuantizationPlan.NONE);
    }

    /** Whether {@code model} names one of the built-in demo models rather than a directory. */
    public static boolean isDemo(String model) {
        return NAME.equals(model) || SKEWED_NAME.equals(model);
    }

    /** The demo's weights, the same at every call: every node of a demo cluster makes its own copy. */
    public static RandomWeights weights() {
        return new RandomWeights(SEED);
    }

    /** The weights of the demo model {@code name} ({@link #isDemo}). */
    public static TensorSource weights(String name) {
        return switch (name) {
            case NAME -> weights();
            case SKEWED_NAME -> new SkewedRouting(weights(), SEED);
            default -> throw new IllegalArgumentException(name + " is not a demo model (expected " + NAME + " or " + SKEWED_NAME + ")");
        };
    }

    /** DeepSeek-V3's tokenizer and chat template, shipped inside ExpertMesh. */
    public static Tokenizer tokenizer() {
        try (InputStream json = resource(Tokenizer.FILE); InputStream config = resource(Tokenizer.CONFIG_FILE)) {
            return Tokenizer.create(json, new ObjectMapper().readTree(config));
        } catch (IOException e) {
            throw new UncheckedIOException("the demo tokenizer shipped in the jar cannot be read", e);
        }
    }

    private static InputStream resource(String file) {
        InputStream in = DemoModel.class.getResourceAsStream(RESOURCES + file);
        if (in == null) {
            throw new IllegalStateException(RESOURCES + file + " is missing from the classpath; rebuild ExpertMesh");
        }
        return in;
    }
}
