package dev.expertmesh.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.tensor.Weight;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A DeepSeek-V2 / V3 config.json (model_type deepseek_v2 or deepseek_v3). Field names follow the
 * Hugging Face config; {@code qLoraRank} is 0 where config.json has null (no query compression).
 */
public record ModelConfig(
        String modelType,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int moeIntermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int nSharedExperts,
        int nRoutedExperts,
        int numExpertsPerTok,
        int firstKDenseReplace,
        int moeLayerFreq,
        int kvLoraRank,
        int qLoraRank,
        int qkRopeHeadDim,
        int qkNopeHeadDim,
        int vHeadDim,
        RoutingMethod topkMethod,
        int nGroup,
        int topkGroup,
        ScoringFunction scoringFunc,
        boolean normTopkProb,
        double routedScalingFactor,
        double ropeTheta,
        int maxPositionEmbeddings,
        YarnScaling yarn,
        double rmsNormEps,
        int bosTokenId,
        List<Integer> eosTokenIds,
        boolean tieWordEmbeddings) {

    public static final String FILE = "config.json";

    public static ModelConfig load(Path modelDir) {
        Path file = modelDir.resolve(FILE);
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new InvalidConfigException(file + " not found; --model must point at a Hugging Face model directory");
        } catch (JsonProcessingException e) {
            throw new InvalidConfigException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new InvalidConfigException(file + ": cannot read: " + e.getMessage(), e);
        }
        try {
            return parse(root);
        } catch (InvalidConfigException e) {
            throw new InvalidConfigException(file + ": " + e.getMessage(), e);
        }
    }

    public static ModelConfig parse(JsonNode root) {
        if (root == null || !root.isObject()) {
            throw new InvalidConfigException("not a JSON object");
        }
        var json = new ConfigJson(root);
        String modelType = json.string("model_type", null);
        if (!"deepseek_v2".equals(modelType) && !"deepseek_v3".equals(modelType)) {
            throw new InvalidConfigException("model_type '" + modelType + "' is not supported (expected deepseek_v2 or deepseek_v3)");
        }
        if (json.bool("attention_bias", false)) {
            throw new InvalidConfigException("attention_bias true is not supported: DeepSeek's attention projections have no bias");
        }
        String act = json.string("hidden_act", "silu");
        if (!act.equals("silu")) {
            throw new InvalidConfigException("hidden_act '" + act + "' is not supported (DeepSeek uses silu)");
        }
        checkFp8BlockSize(root.path("quantization_config").path("weight_block_size"));
        int heads = json.positive("num_attention_heads");
        int kvHeads = json.integer("num_key_value_heads", heads);
        if (kvHeads != heads) {
            throw new InvalidConfigException("num_key_value_heads " + kvHeads + " differs from num_attention_heads " + heads
                    + "; MLA shares one latent between all heads, so DeepSeek configs set them equal");
        }
        var config = new ModelConfig(
                modelType,
                json.positive("vocab_size"),
                json.positive("hidden_size"),
                json.positive("intermediate_size"),
                json.positive("moe_intermediate_size"),
                json.positive("num_hidden_layers"),
                heads,
                json.integer("n_shared_experts", 0),
                json.integer("n_routed_experts", 0),
                json.integer("num_experts_per_tok", 0),
                json.integer("first_k_dense_replace", 0),
                json.integer("moe_layer_freq", 1),
                json.positive("kv_lora_rank"),
                json.integer("q_lora_rank", 0),
                json.positive("qk_rope_head_dim"),
                json.positive("qk_nope_head_dim"),
                json.positive("v_head_dim"),
                RoutingMethod.fromConfig(json.string("topk_method", "greedy")),
                json.integer("n_group", 1),
                json.integer("topk_group", 1),
                ScoringFunction.fromConfig(json.string("scoring_func", "softmax")),
                json.bool("norm_topk_prob", false),
                json.number("routed_scaling_factor", 1.0),
                json.number("rope_theta", 10000.0),
                json.positive("max_position_embeddings"),
                parseYarn(root.get("rope_scaling")),
                json.number("rms_norm_eps", 1e-6),
                json.integer("bos_token_id", 0),
                json.integerList("eos_token_id"),
                json.bool("tie_word_embeddings", false));
        config.validate();
        return config;
    }

    /**
     * FP8 checkpoints' scales are read per 128 x 128 block (Weight.load), DeepSeek-V3's
     * weight_block_size; a checkpoint made with other blocks would be read wrong, so it is refused.
     */
    private static void checkFp8BlockSize(JsonNode blockSize) {
        if (blockSize.isMissingNode() || blockSize.isNull()) {
            return;
        }
        if (!blockSize.isArray() || blockSize.size() != 2 || blockSize.get(0).asInt() != Weight.FP8_BLOCK
                || blockSize.get(1).asInt() != Weight.FP8_BLOCK) {
            throw new InvalidConfigException("quantization_config.weight_block_size " + blockSize + " is not supported: FP8 weights"
                    + " are read in DeepSeek-V3's blocks of [" + Weight.FP8_BLOCK + ", " + Weight.FP8_BLOCK + "]");
        }
    }

    private static YarnScaling parseYarn(JsonNode ropeScaling) {
        if (ropeScaling == null || ropeScaling.isNull()) {
            return null;
        }
        var json = new ConfigJson(ropeScaling);
        String type = json.string("type", json.string("rope_type", null));
        if (!"yarn".equals(type)) {
            throw new InvalidConfigException("rope_scaling type '" + type + "' is not supported (DeepSeek uses yarn)");
        }
        double factor = json.number("factor", 0);
        if (factor < 1) {
            throw new InvalidConfigException("rope_scaling.factor must be at least 1, got " + factor);
        }
        return new YarnScaling(factor, json.positive("original_max_position_embeddings"),
                json.number("beta_fast", 32), json.number("beta_slow", 1),
                json.number("mscale", 1), json.number("mscale_all_dim", 0));
    }

    private void validate() {
        List<String> problems = new ArrayList<>();
        if (hasMoe()) {
            if (numExpertsPerTok <= 0 || numExpertsPerTok > nRoutedExperts) {
                problems.add("num_experts_per_tok " + numExpertsPerTok + " must be in 1..n_routed_experts (" + nRoutedExperts + ")");
            }
            if (moeLayerFreq <= 0) {
                problems.add("moe_layer_freq must be positive, got " + moeLayerFreq);
            }
            if (topkMethod != RoutingMethod.GREEDY) {
                if (nGroup <= 0 || nRoutedExperts % nGroup != 0) {
                    problems.add("n_group " + nGroup + " must divide n_routed_experts " + nRoutedExperts);
                } else if (topkGroup <= 0 || topkGroup > nGroup) {
                    problems.add("topk_group " + topkGroup + " must be in 1..n_group (" + nGroup + ")");
                } else if (topkGroup * (nRoutedExperts / nGroup) < numExpertsPerTok) {
                    problems.add("topk_group " + topkGroup + " groups of " + (nRoutedExperts / nGroup)
                            + " experts hold fewer than num_experts_per_tok " + numExpertsPerTok);
                }
            }
            if (topkMethod == RoutingMethod.NOAUX_TC && nRoutedExperts / Math.max(nGroup, 1) < 2) {
                problems.add("noaux_tc scores a group by its two best experts, so each group needs at least 2");
            }
        }
        if (nSharedExperts < 0) {
            problems.add("n_shared_experts must be 0 or more, got " + nSharedExperts);
        }
        if (modelType.equals("deepseek_v2") && normTopkProb && numExpertsPerTok > 1) {
            problems.add("norm_topk_prob true with deepseek_v2: DeepSeek's V2 code then skips routed_scaling_factor"
                    + " and transformers' ignores the flag, and no released V2 checkpoint sets it");
        }
        if (qkRopeHeadDim % 2 != 0) {
            problems.add("qk_rope_head_dim " + qkRopeHeadDim + " must be even (RoPE rotates pairs)");
        }
        if (qLoraRank < 0) {
            problems.add("q_lora_rank must be null or positive, got " + qLoraRank);
        }
        if (firstKDenseReplace < 0 || firstKDenseReplace > numHiddenLayers) {
            problems.add("first_k_dense_replace " + firstKDenseReplace + " must be in 0..num_hidden_layers (" + numHiddenLayers + ")");
        }
        if (!(rmsNormEps > 0)) {
            problems.add("rms_norm_eps must be positive, got " + rmsNormEps);
        }
        if (!problems.isEmpty()) {
            throw new InvalidConfigException("inconsistent values: " + String.join("; ", problems));
        }
    }

    public boolean hasMoe() {
        return nRoutedExperts > 0;
    }

    /** Whether decoder layer {@code layer} routes over experts; the others have one dense MLP. */
    public boolean isMoeLayer(int layer) {
        return hasMoe() && layer >= firstKDenseReplace && layer % moeLayerFreq == 0;
    }

    public boolean hasQLora() {
        return qLoraRank > 0;
    }

    public int qkHeadDim() {
        return qkNopeHeadDim + qkRopeHeadDim;
    }

    /** Values cached per token per layer: the normalized latent and the rotated rope key. */
    public int latentCacheWidth() {
        return kvLoraRank + qkRopeHeadDim;
    }

    /** The attention softmax scale: qk_head_dim^-0.5, times mscale² under YaRN. */
    public double softmaxScale() {
        double scale = 1.0 / Math.sqrt(qkHeadDim());
        if (yarn != null && yarn.mscaleAllDim() != 0) {
            double m = YarnScaling.yarnMscale(yarn.factor(), yarn.mscaleAllDim());
            scale *= m * m;
        }
        return scale;
    }
}
