package dev.expertmesh.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class ModelConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A published config.json from src/test/resources/configs, as an editable tree. */
    private static ObjectNode published(String name) {
        try (InputStream in = ModelConfigTest.class.getResourceAsStream("/configs/" + name + ".json")) {
            return (ObjectNode) JSON.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void assertRejected(String base, Consumer<ObjectNode> edit, String... messageParts) {
        ObjectNode config = published(base);
        edit.accept(config);
        assertThatThrownBy(() -> ModelConfig.parse(config))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContainingAll(messageParts);
    }

    @Test
    void parsesDeepSeekV2Lite() {
        ModelConfig c = ModelConfig.parse(published("deepseek-v2-lite"));

        assertThat(c.modelType()).isEqualTo("deepseek_v2");
        assertThat(c.vocabSize()).isEqualTo(102400);
        assertThat(c.hiddenSize()).isEqualTo(2048);
        assertThat(c.intermediateSize()).isEqualTo(10944);
        assertThat(c.moeIntermediateSize()).isEqualTo(1408);
        assertThat(c.numHiddenLayers()).isEqualTo(27);
        assertThat(c.numAttentionHeads()).isEqualTo(16);
        assertThat(c.nSharedExperts()).isEqualTo(2);
        assertThat(c.nRoutedExperts()).isEqualTo(64);
        assertThat(c.numExpertsPerTok()).isEqualTo(6);
        assertThat(c.firstKDenseReplace()).isEqualTo(1);
        assertThat(c.moeLayerFreq()).isEqualTo(1);
        assertThat(c.kvLoraRank()).isEqualTo(512);
        assertThat(c.qLoraRank()).isZero();
        assertThat(c.hasQLora()).isFalse();
        assertThat(c.qkRopeHeadDim()).isEqualTo(64);
        assertThat(c.qkNopeHeadDim()).isEqualTo(128);
        assertThat(c.vHeadDim()).isEqualTo(128);
        assertThat(c.topkMethod()).isEqualTo(RoutingMethod.GREEDY);
        assertThat(c.nGroup()).isEqualTo(1);
        assertThat(c.topkGroup()).isEqualTo(1);
        assertThat(c.scoringFunc()).isEqualTo(ScoringFunction.SOFTMAX);
        assertThat(c.normTopkProb()).isFalse();
        assertThat(c.routedScalingFactor()).isEqualTo(1.0);
        assertThat(c.ropeTheta()).isEqualTo(10000.0);
        assertThat(c.maxPositionEmbeddings()).isEqualTo(163840);
        assertThat(c.yarn()).isEqualTo(new YarnScaling(40, 4096, 32, 1, 0.707, 0.707));
        assertThat(c.rmsNormEps()).isEqualTo(1e-6);
        assertThat(c.bosTokenId()).isEqualTo(100000);
        assertThat(c.eosTokenIds()).containsExactly(100001);
        assertThat(c.tieWordEmbeddings()).isFalse();
    }

    @Test
    void parsesDeepSeekV2() {
        ModelConfig c = ModelConfig.parse(published("deepseek-v2"));

        assertThat(c.modelType()).isEqualTo("deepseek_v2");
        assertThat(c.vocabSize()).isEqualTo(102400);
        assertThat(c.hiddenSize()).isEqualTo(5120);
        assertThat(c.intermediateSize()).isEqualTo(12288);
        assertThat(c.moeIntermediateSize()).isEqualTo(1536);
        assertThat(c.numHiddenLayers()).isEqualTo(60);
        assertThat(c.numAttentionHeads()).isEqualTo(128);
        assertThat(c.nSharedExperts()).isEqualTo(2);
        assertThat(c.nRoutedExperts()).isEqualTo(160);
        assertThat(c.numExpertsPerTok()).isEqualTo(6);
        assertThat(c.qLoraRank()).isEqualTo(1536);
        assertThat(c.hasQLora()).isTrue();
        assertThat(c.kvLoraRank()).isEqualTo(512);
        assertThat(c.topkMethod()).isEqualTo(RoutingMethod.GROUP_LIMITED_GREEDY);
        assertThat(c.nGroup()).isEqualTo(8);
        assertThat(c.topkGroup()).isEqualTo(3);
        assertThat(c.routedScalingFactor()).isEqualTo(16.0);
        assertThat(c.yarn()).isEqualTo(new YarnScaling(40, 4096, 32, 1, 0.707, 0.707));
    }

    @Test
    void fp8BlocksOtherThanDeepSeekV3sAreRefused() {
        assertRejected("deepseek-v3", c -> ((ObjectNode) c.get("quantization_config")).putArray("weight_block_size").add(64).add(64),
                "quantization_config.weight_block_size [64,64] is not supported", "[128, 128]");
    }

    @Test
    void parsesDeepSeekV3AsPublishedQuantizationConfigIncluded() {
        // fp8_cast_bf16.py converts the weights but leaves config.json as it is: the weights' dtypes decide.
        ModelConfig c = ModelConfig.parse(published("deepseek-v3"));

        assertThat(c.modelType()).isEqualTo("deepseek_v3");
        assertThat(c.vocabSize()).isEqualTo(129280);
        assertThat(c.hiddenSize()).isEqualTo(7168);
        assertThat(c.intermediateSize()).isEqualTo(18432);
        assertThat(c.moeIntermediateSize()).isEqualTo(2048);
        assertThat(c.numHiddenLayers()).isEqualTo(61);
        assertThat(c.numAttentionHeads()).isEqualTo(128);
        assertThat(c.nSharedExperts()).isEqualTo(1);
        assertThat(c.nRoutedExperts()).isEqualTo(256);
        assertThat(c.numExpertsPerTok()).isEqualTo(8);
        assertThat(c.firstKDenseReplace()).isEqualTo(3);
        assertThat(c.qLoraRank()).isEqualTo(1536);
        assertThat(c.kvLoraRank()).isEqualTo(512);
        assertThat(c.topkMethod()).isEqualTo(RoutingMethod.NOAUX_TC);
        assertThat(c.nGroup()).isEqualTo(8);
        assertThat(c.topkGroup()).isEqualTo(4);
        assertThat(c.scoringFunc()).isEqualTo(ScoringFunction.SIGMOID);
        assertThat(c.normTopkProb()).isTrue();
        assertThat(c.routedScalingFactor()).isEqualTo(2.5);
        assertThat(c.maxPositionEmbeddings()).isEqualTo(163840);
        assertThat(c.yarn()).isEqualTo(new YarnScaling(40, 4096, 32, 1, 1.0, 1.0));
        assertThat(c.bosTokenId()).isZero();
        assertThat(c.eosTokenIds()).containsExactly(1);
    }

    @Test
    void loadNamesTheConfigFileInItsErrors(@TempDir Path dir) throws IOException {
        ObjectNode json = published("deepseek-v2-lite");
        json.put("model_type", "llama");
        Files.writeString(dir.resolve(ModelConfig.FILE), json.toString());

        assertThatThrownBy(() -> ModelConfig.load(dir))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContainingAll(dir.resolve(ModelConfig.FILE).toString(), "model_type");
    }

    @Test
    void loadReadsConfigJsonFromTheModelDirectory(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve(ModelConfig.FILE), published("deepseek-v2").toString());

        assertThat(ModelConfig.load(dir)).isEqualTo(ModelConfig.parse(published("deepseek-v2")));
    }

    @Test
    void latentCacheWidthIsKvLoraRankPlusRopeDim() {
        assertThat(ModelConfig.parse(published("deepseek-v2-lite")).latentCacheWidth()).isEqualTo(576);
        assertThat(ModelConfig.parse(published("deepseek-v2-lite")).qkHeadDim()).isEqualTo(192);
    }

    @Test
    void layersBeforeFirstKDenseReplaceAreDense() {
        ModelConfig lite = ModelConfig.parse(published("deepseek-v2-lite"));
        assertThat(lite.isMoeLayer(0)).isFalse();
        assertThat(IntStream.range(1, 27)).allMatch(lite::isMoeLayer);

        ModelConfig v3 = ModelConfig.parse(published("deepseek-v3"));
        assertThat(IntStream.range(0, 3)).noneMatch(v3::isMoeLayer);
        assertThat(IntStream.range(3, 61)).allMatch(v3::isMoeLayer);
    }

    @Test
    void moeLayerFreqSkipsLayersNotOnItsStride() {
        ObjectNode json = published("deepseek-v2-lite");
        json.put("moe_layer_freq", 2);
        ModelConfig c = ModelConfig.parse(json);

        assertThat(c.isMoeLayer(1)).isFalse();
        assertThat(c.isMoeLayer(2)).isTrue();
        assertThat(c.isMoeLayer(3)).isFalse();
        assertThat(c.isMoeLayer(4)).isTrue();
    }

    @Test
    void softmaxScaleIncludesYarnMscaleSquared() {
        double mscale = 0.1 * 0.707 * Math.log(40) + 1;
        double expected = Math.pow(192, -0.5) * mscale * mscale;

        assertThat(ModelConfig.parse(published("deepseek-v2-lite")).softmaxScale()).isCloseTo(expected, within(1e-12));
    }

    @Test
    void softmaxScaleWithoutRopeScalingIsInverseSqrtHeadDim() {
        ObjectNode json = published("deepseek-v2-lite");
        json.remove("rope_scaling");

        assertThat(ModelConfig.parse(json).softmaxScale()).isCloseTo(1 / Math.sqrt(192), within(1e-12));
    }

    @Test
    void rejectsUnknownModelType() {
        assertRejected("deepseek-v2-lite", c -> c.put("model_type", "llama"), "model_type", "llama");
    }

    @Test
    void rejectsMissingRequiredField() {
        assertRejected("deepseek-v2-lite", c -> c.remove("hidden_size"), "hidden_size", "missing");
    }

    @Test
    void rejectsFieldOfWrongType() {
        assertRejected("deepseek-v2-lite", c -> c.put("num_hidden_layers", "27"), "num_hidden_layers", "integer");
        assertRejected("deepseek-v2-lite", c -> c.put("norm_topk_prob", 1), "norm_topk_prob");
        assertRejected("deepseek-v2-lite", c -> c.put("rope_theta", "10000"), "rope_theta", "number");
    }

    @Test
    void rejectsNGroupThatDoesNotDivideRoutedExperts() {
        assertRejected("deepseek-v2", c -> c.put("n_group", 7), "n_group", "n_routed_experts");
    }

    @Test
    void rejectsTopkGroupAboveNGroup() {
        assertRejected("deepseek-v2", c -> c.put("topk_group", 9), "topk_group", "n_group");
    }

    @Test
    void rejectsMoreExpertsPerTokenThanRoutedExperts() {
        assertRejected("deepseek-v2-lite", c -> c.put("num_experts_per_tok", 65), "num_experts_per_tok", "n_routed_experts");
    }

    @Test
    void rejectsOddRopeHeadDim() {
        assertRejected("deepseek-v2-lite", c -> c.put("qk_rope_head_dim", 63), "qk_rope_head_dim");
    }

    @Test
    void rejectsRopeScalingOtherThanYarn() {
        assertRejected("deepseek-v2-lite", c -> ((ObjectNode) c.get("rope_scaling")).put("type", "linear"),
                "rope_scaling", "linear");
    }

    @Test
    void rejectsUnknownTopkMethodAndScoringFunc() {
        assertRejected("deepseek-v2-lite", c -> c.put("topk_method", "random"), "topk_method", "random");
        assertRejected("deepseek-v2-lite", c -> c.put("scoring_func", "relu"), "scoring_func", "relu");
    }
}
