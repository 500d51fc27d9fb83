package dev.expertmesh.attention;

import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.model.YarnScaling;

/**
 * Rotary position embedding over the qk_rope_head_dim dims, with YaRN's frequency blend. Frequencies
 * are computed in fp32 exactly as transformers computes them, so positions agree bit for bit in the
 * angles' inputs.
 */
public final class YarnRope {
    private final float[] inverseFrequencies;
    private final float attentionFactor;

    public YarnRope(ModelConfig config) {
        int dim = config.qkRopeHeadDim();
        double base = config.ropeTheta();
        YarnScaling yarn = config.yarn();
        int pairs = dim / 2;
        inverseFrequencies = new float[pairs];
        if (yarn == null) {
            for (int i = 0; i < pairs; i++) {
                inverseFrequencies[i] = 1f / positionFrequency(base, i, dim);
            }
            attentionFactor = 1f;
            return;
        }
        double low = Math.max(Math.floor(correctionDim(yarn.betaFast(), dim, base, yarn.originalMaxPositionEmbeddings())), 0);
        double high = Math.min(Math.ceil(correctionDim(yarn.betaSlow(), dim, base, yarn.originalMaxPositionEmbeddings())), dim - 1);
        if (low == high) {
            high += 0.001;
        }
        float factor = (float) yarn.factor();
        for (int i = 0; i < pairs; i++) {
            float posFreq = positionFrequency(base, i, dim);
            float extrapolation = 1f / posFreq;
            float interpolation = 1f / (factor * posFreq);
            float ramp = (float) Math.clamp((i - low) / (high - low), 0.0, 1.0);
            float extrapolationWeight = 1f - ramp;
            inverseFrequencies[i] = interpolation * (1f - extrapolationWeight) + extrapolation * extrapolationWeight;
        }
        attentionFactor = (float) yarn.attentionFactor();
    }

    /** base^(2i/dim), in fp32 as torch computes it. */
    private static float positionFrequency(double base, int pair, int dim) {
        return (float) Math.pow(base, (float) (2 * pair) / dim);
    }

    /** The dimension whose wavelength fits {@code rotations} times into the original context. */
    private static double correctionDim(double rotations, int dim, double base, int originalContext) {
        return dim * Math.log(originalContext / (rotations * 2 * Math.PI)) / (2 * Math.log(base));
    }

    public int pairs() {
        return inverseFrequencies.length;
    }

    /** Fills cos and sin (one per pair) with the rotation for {@code position}, scaled by YaRN's attention factor. */
    public void rotation(int position, float[] cos, float[] sin) {
        for (int i = 0; i < inverseFrequencies.length; i++) {
            float angle = inverseFrequencies[i] * position;
            cos[i] = (float) Math.cos(angle) * attentionFactor;
            sin[i] = (float) Math.sin(angle) * attentionFactor;
        }
    }
}
