package dev.expertmesh.attention;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.expertmesh.model.ModelConfig;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class YarnRopeTest {
    private static final int[] POSITIONS = {0, 1, 7, 100, 4095, 4096, 32768, 163839};

    private static ObjectNode v2LiteConfig() {
        try (InputStream in = YarnRopeTest.class.getResourceAsStream("/configs/deepseek-v2-lite.json")) {
            return (ObjectNode) new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // transformers' _compute_yarn_parameters, in double.

    private static double findCorrectionDim(double numRotations, int dim, double base, int maxPositionEmbeddings) {
        return dim * Math.log(maxPositionEmbeddings / (numRotations * 2 * Math.PI)) / (2 * Math.log(base));
    }

    private static double getMscale(double scale, double mscale) {
        return scale <= 1 ? 1.0 : 0.1 * mscale * Math.log(scale) + 1.0;
    }

    private static double[] yarnInverseFrequencies(int dim, double base, double factor, int originalMax,
                                                   double betaFast, double betaSlow) {
        double low = Math.max(Math.floor(findCorrectionDim(betaFast, dim, base, originalMax)), 0);
        double high = Math.min(Math.ceil(findCorrectionDim(betaSlow, dim, base, originalMax)), dim - 1);
        if (low == high) {
            high += 0.001;
        }
        double[] inv = new double[dim / 2];
        for (int i = 0; i < dim / 2; i++) {
            double posFreq = Math.pow(base, 2.0 * i / dim);
            double extrapolation = 1 / posFreq;
            double interpolation = 1 / (factor * posFreq);
            double ramp = Math.min(Math.max((i - low) / (high - low), 0), 1);
            double extrapolationFactor = 1 - ramp;
            inv[i] = interpolation * (1 - extrapolationFactor) + extrapolation * extrapolationFactor;
        }
        return inv;
    }

    /** cos and sin of fp32 angles agree with the double reference to a few fp32 ulps of the angle. */
    private static void assertRotations(YarnRope rope, double[] inverseFrequencies, double attentionFactor) {
        int pairs = inverseFrequencies.length;
        assertThat(rope.pairs()).isEqualTo(pairs);
        float[] cos = new float[pairs];
        float[] sin = new float[pairs];
        for (int position : POSITIONS) {
            rope.rotation(position, cos, sin);
            for (int i = 0; i < pairs; i++) {
                double angle = inverseFrequencies[i] * position;
                double tolerance = attentionFactor * (1e-6 * angle + 1e-6);
                assertThat((double) cos[i]).as("cos, position %d pair %d", position, i)
                        .isCloseTo(attentionFactor * Math.cos(angle), within(tolerance));
                assertThat((double) sin[i]).as("sin, position %d pair %d", position, i)
                        .isCloseTo(attentionFactor * Math.sin(angle), within(tolerance));
            }
        }
    }

    @Test
    void v2LiteRotationsFollowTransformersYarnFrequencies() {
        ModelConfig config = ModelConfig.parse(v2LiteConfig());
        double[] expected = yarnInverseFrequencies(64, 10000, 40, 4096, 32, 1);
        double attentionFactor = getMscale(40, 0.707) / getMscale(40, 0.707);

        assertRotations(new YarnRope(config), expected, attentionFactor);
    }

    @Test
    void attentionFactorScalesCosAndSinWhenMscalesDiffer() {
        ObjectNode json = v2LiteConfig();
        ((ObjectNode) json.get("rope_scaling")).put("mscale", 1.0);
        double[] expected = yarnInverseFrequencies(64, 10000, 40, 4096, 32, 1);
        double attentionFactor = getMscale(40, 1.0) / getMscale(40, 0.707);

        assertRotations(new YarnRope(ModelConfig.parse(json)), expected, attentionFactor);
    }

    @Test
    void withoutRopeScalingFrequenciesArePlainRope() {
        ObjectNode json = v2LiteConfig();
        json.remove("rope_scaling");
        double[] expected = new double[32];
        for (int i = 0; i < 32; i++) {
            expected[i] = Math.pow(10000, -2.0 * i / 64);
        }

        assertRotations(new YarnRope(ModelConfig.parse(json)), expected, 1.0);
    }
}
