// RMSNorm (DeepSeek-V2 §2, as in LLaMA): y = g ⊙ x / sqrt(mean(x²) + eps), over one row of the fp32
// residual stream or of a compressed latent (q_a_layernorm, kv_a_layernorm).
//
// Kernels: rms_norm (bf16 out, a GEMM input), rms_norm_f32 (fp32 out, e.g. the latent c_KV before rope
// and the cache write).
// Mirrors: CpuBackend.rmsNorm: meanSquare = Σx²/n in fp32, inverseRms = 1/sqrt(meanSquare + eps)
// evaluated in double and rounded to fp32, then out = gain·(x·inverseRms) with two separately rounded
// products. Only the order of the Σx² additions differs (a warp-shuffle tree instead of the CPU's
// vector lanes).
#include <cuda_bf16.h>

#define FULL_MASK 0xffffffffu

static __device__ __forceinline__ float warp_sum(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        v += __shfl_xor_sync(FULL_MASK, v, offset);
    }
    return v;
}

// The sum of every thread's v, returned to all threads. blockDim.x is a multiple of 32, at most 1024.
// Called once a kernel, so nothing guards warp_sums against a second call's writes.
static __device__ __forceinline__ float block_sum(float v) {
    __shared__ float warp_sums[32];
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    v = warp_sum(v);
    if (lane == 0) {
        warp_sums[warp] = v;
    }
    __syncthreads();
    int warps = blockDim.x >> 5;
    v = lane < warps ? warp_sums[lane] : 0.f;
    return warp_sum(v);
}

// 1/sqrt(mean(x²) + eps) of one row, every thread holding the same value.
static __device__ __forceinline__ float inverse_rms(const float* __restrict__ x, int cols, float eps) {
    float squares = 0.f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        squares = fmaf(x[c], x[c], squares);
    }
    float mean_square = __fdiv_rn(block_sum(squares), (float) cols);
    return (float) (1.0 / sqrt((double) (mean_square + eps)));
}

// The normalized value of one element, rounded exactly as CpuBackend.rmsNorm rounds it (no FMA contraction).
static __device__ __forceinline__ float normalized(float x, float inverse_rms, __nv_bfloat16 gain) {
    return __fmul_rn(__bfloat162float(gain), __fmul_rn(x, inverse_rms));
}

// out[r][c] = bf16(gain[c]·(x[r][c]·inverseRms(r))), rows addressed through their strides so a slice of
// a wider row (the c_KV part of kv_a_proj_with_mqa's output) is normalized in place of a copy.
// Grid rows, block 256.
extern "C" __global__ void rms_norm(const float* __restrict__ x, int x_stride, const __nv_bfloat16* __restrict__ gain,
                                    __nv_bfloat16* __restrict__ out, int out_stride, int cols, float eps) {
    const float* row = x + (long long) blockIdx.x * x_stride;
    __nv_bfloat16* dst = out + (long long) blockIdx.x * out_stride;
    float scale = inverse_rms(row, cols, eps);
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        dst[c] = __float2bfloat16_rn(normalized(row[c], scale, gain[c]));
    }
}

// As rms_norm, with an fp32 output. x and out may be the same rows (MlaAttention normalizes the
// compressed query in place): every element is read before the block-wide sum's barrier and written after it.
// Grid rows, block 256.
extern "C" __global__ void rms_norm_f32(const float* x, int x_stride, const __nv_bfloat16* __restrict__ gain,
                                        float* out, int out_stride, int cols, float eps) {
    const float* row = x + (long long) blockIdx.x * x_stride;
    float* dst = out + (long long) blockIdx.x * out_stride;
    float scale = inverse_rms(row, cols, eps);
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        dst[c] = normalized(row[c], scale, gain[c]);
    }
}
