package dev.expertmesh.model;

/**
 * YaRN context extension as DeepSeek configures it (rope_scaling type "yarn"): RoPE frequencies are
 * blended between the original and {@code factor}-interpolated ones over the band
 * [betaSlow, betaFast] rotations of the original context, and the softmax scale grows by mscale².
 */
public record YarnScaling(double factor, int originalMaxPositionEmbeddings, double betaFast, double betaSlow,
                          double mscale, double mscaleAllDim) {

    /** yarn_get_mscale: 0.1·m·ln(factor) + 1 for factor above 1. */
    public static double yarnMscale(double factor, double m) {
        return factor <= 1 ? 1.0 : 0.1 * m * Math.log(factor) + 1.0;
    }

    /** The factor cos and sin are scaled by (transformers' attention_factor). */
    public double attentionFactor() {
        if (mscale != 0 && mscaleAllDim != 0) {
            return yarnMscale(factor, mscale) / yarnMscale(factor, mscaleAllDim);
        }
        return yarnMscale(factor, 1.0);
    }
}
