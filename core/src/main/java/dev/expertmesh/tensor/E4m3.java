package dev.expertmesh.tensor;

/**
 * FP8 e4m3fn, the format of DeepSeek-V3's published weights: 1 sign, 4 exponent (bias 7) and 3
 * mantissa bits, subnormals, no infinities, NaN only as S.1111.111; the largest finite value is 448.
 */
public final class E4m3 {
    public static final float MAX = 448f;
    /**
     * e4m3's magnitude bits shifted into an fp32's (bits 6..0 to 29..23 and below) read as a float,
     * times this, is the e4m3 value: the shift lines the mantissas up, and the factor moves the
     * exponent bias from 127 to 7, which handles subnormals too.
     */
    public static final float EXPONENT_SHIFT = 0x1p120f;

    private E4m3() {
    }

    public static float toFloat(byte bits) {
        if ((bits & 0x7F) == 0x7F) {
            return Float.NaN;
        }
        float magnitude = Float.intBitsToFloat((bits & 0x7F) << 20) * EXPONENT_SHIFT;
        return (bits & 0x80) != 0 ? -magnitude : magnitude;
    }

    /** The nearest e4m3 value (ties to even), saturating at ±448 as the OCP spec's conversion does. */
    public static byte fromFloat(float value) {
        if (Float.isNaN(value)) {
            return 0x7F;
        }
        int sign = value < 0 || (value == 0 && 1 / value < 0) ? 0x80 : 0;
        float magnitude = Math.min(Math.abs(value), MAX);
        // Below 2^-6 the spacing is fixed at 2^-9 (subnormals); above, 3 mantissa bits per binade.
        float step = Math.scalb(1f, Math.max(Math.getExponent(magnitude), -6) - 3);
        float rounded = (float) Math.rint(magnitude / step) * step;
        int code;
        if (rounded < 0x1p-6f) {
            code = (int) (rounded / 0x1p-9f);
        } else {
            int exponent = Math.getExponent(rounded);
            code = (exponent + 7) << 3 | (int) ((Math.scalb(rounded, -exponent) - 1) * 8);
        }
        return (byte) (sign | code);
    }
}
