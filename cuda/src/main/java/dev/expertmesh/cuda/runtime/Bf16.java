package dev.expertmesh.cuda.runtime;

/** fp32 to bf16 conversion as the GPU does it (__float2bfloat16_rn). */
public final class Bf16 {
    private Bf16() {
    }

    /** The bf16 nearest to {@code value}, ties to even; NaN stays a quiet NaN. */
    public static short round(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
