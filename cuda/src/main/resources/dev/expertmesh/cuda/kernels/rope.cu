// Rotary position embedding with YaRN's frequency blend (DeepSeek-V2 §2.1.3, decoupled RoPE; appendix
// B for YaRN): the rope half of every query head, q^R, and the shared rope key k^R, rotated in place.
//
// Kernels: yarn_rope.
// Mirrors: YarnRope.rotation + CpuBackend.applyRope. The angle is inv_freq[i]·position in fp32; cos and
// sin of it are evaluated in double, rounded to fp32 and then multiplied by mscale (YaRN's attention
// factor); the rotation (x0·cos − x1·sin, x0·sin + x1·cos) rounds each product separately, as Java does.
// With the same inv_freq (YarnRope's inverse frequencies, computed on the host) the rotated values are
// the CPU's bit for bit, up to the last ulp of CUDA's and Java's double cos and sin.
#include <cuda_bf16.h>

// For each row r and head h, rotates pairs (x[o + 2i], x[o + 2i + 1]), i < pairs, with
// o = r·row_stride + h·head_stride + offset, by the angle positions[r]·inv_freq[i].
// Grid (rows, heads), block = pairs rounded up to a multiple of 32 (one thread a pair).
extern "C" __global__ void yarn_rope(float* __restrict__ x, int row_stride, int head_stride, int heads, int offset,
                                     const int* __restrict__ positions, const float* __restrict__ inv_freq, int pairs,
                                     float mscale, int rows) {
    int r = blockIdx.x;
    int h = blockIdx.y;
    int i = threadIdx.x;
    if (r >= rows || h >= heads || i >= pairs) {
        return;
    }
    float angle = __fmul_rn(inv_freq[i], (float) positions[r]);
    // In double then rounded, as (float) Math.cos((double) angle): the same fp32 values as the CPU's.
    double sin_angle;
    double cos_angle;
    sincos((double) angle, &sin_angle, &cos_angle);
    float c = __fmul_rn((float) cos_angle, mscale);
    float s = __fmul_rn((float) sin_angle, mscale);
    // Scalar loads: o may be odd (any head and offset layout), and a rope slice is a few hundred bytes a row.
    float* pair = x + (long long) r * row_stride + (long long) h * head_stride + offset + 2 * i;
    float x0 = pair[0];
    float x1 = pair[1];
    pair[0] = __fsub_rn(__fmul_rn(x0, c), __fmul_rn(x1, s));
    pair[1] = __fadd_rn(__fmul_rn(x0, s), __fmul_rn(x1, c));
}
