// Weight-only quantized linear layers for decode batches (W8A16, W4A16, FP8 weights): out = x·Wᵀ with
// x bf16 [rows, in_features] (rows x_stride apart), out fp32 [rows, out_features] (rows out_stride
// apart), W [out_features, in_features] in one of core's WeightFormats, read as packed and
// dequantized in registers; products accumulate in fp32.
//
// Kernels: linear_int8, linear_int4, linear_fp8, and their grouped forms moe_linear_int8,
// moe_linear_int4, moe_linear_fp8 (moe.cu's moe_linear_bf16 over quantized experts: every expert's
// product over the routes moe_align sorted, in one launch).
// Mirrors: CpuBackend.matmul for the same Weight; the element W[o][c] is Weight.get(o, c).
// One warp per output row o: its lanes stride over the columns, each dequantizing W[o][c] once per
// pass and multiplying it into ROWS_PER_PASS rows of x, then the warp sums its lanes. A batch of up
// to ROWS_PER_PASS rows reads every weight once; a larger one reads it once per pass (from L2 after
// the first). Sums run in another order than the CPU's vector lanes, so results differ in the last bits.
#include <cuda_bf16.h>

#define WARPS_PER_BLOCK 4
#define ROWS_PER_PASS 8

// The warp's sums of a pass's n rows, lane 0 writing row j's at out[j * out_stride].
static __device__ __forceinline__ void store_pass(const float (&acc)[ROWS_PER_PASS], int n, int lane, float* __restrict__ out,
                                                  int out_stride) {
#pragma unroll
    for (int j = 0; j < ROWS_PER_PASS; j++) {
        float sum = acc[j];
        for (int offset = 16; offset > 0; offset >>= 1) {
            sum += __shfl_xor_sync(0xffffffffu, sum, offset);
        }
        if (lane == 0 && j < n) {
            out[(long long) j * out_stride] = sum;
        }
    }
}

template <typename Element>
static __device__ __forceinline__ void linear_rows(Element weight, const __nv_bfloat16* __restrict__ x, int x_stride,
                                                   float* __restrict__ out, int out_stride, int rows, int out_features,
                                                   int in_features) {
    int o = blockIdx.x * WARPS_PER_BLOCK + threadIdx.x / 32;
    int lane = threadIdx.x & 31;
    if (o >= out_features) {
        return;
    }
    for (int first = 0; first < rows; first += ROWS_PER_PASS) {
        int n = min(ROWS_PER_PASS, rows - first);
        float acc[ROWS_PER_PASS];
#pragma unroll
        for (int j = 0; j < ROWS_PER_PASS; j++) {
            acc[j] = 0.f;
        }
        for (int c = lane; c < in_features; c += 32) {
            float w = weight(o, c);
#pragma unroll
            for (int j = 0; j < ROWS_PER_PASS; j++) {
                if (j < n) {
                    acc[j] = fmaf(w, __bfloat162float(x[(long long) (first + j) * x_stride + c]), acc[j]);
                }
            }
        }
        store_pass(acc, n, lane, out + (long long) first * out_stride + o, out_stride);
    }
}

// INT8 per output channel: W[o][c] = scales[o]·q[o·in_features + c].
struct Int8Element {
    const signed char* q;
    const float* scales;
    int cols;
    __device__ float operator()(int o, int c) const {
        return scales[o] * (float) q[(long long) o * cols + c];
    }
};

// INT4 in groups of group_size columns: two values a byte, low nibble first, each row starting on a
// byte, stored as q + 8; scales [out_features, ceil(in_features / group_size)].
struct Int4Element {
    const unsigned char* q;
    const float* scales;
    int group_size;
    int cols;
    __device__ float operator()(int o, int c) const {
        int packed = q[(long long) o * ((cols + 1) / 2) + c / 2];
        int nibble = (c & 1) ? packed >> 4 : packed & 15;
        int groups = (cols + group_size - 1) / group_size;
        return scales[(long long) o * groups + c / group_size] * (float) (nibble - 8);
    }
};

// e4m3fn: sign, 4 exponent bits (bias 7), 3 mantissa bits; exponent 0 is subnormal; S.1111.111 is NaN.
static __device__ __forceinline__ float e4m3_to_float(unsigned char bits) {
    int exponent = (bits >> 3) & 15;
    int mantissa = bits & 7;
    float magnitude = exponent == 0 ? ldexpf((float) mantissa, -9)
                                    : (exponent == 15 && mantissa == 7 ? __int_as_float(0x7fc00000)
                                                                        : ldexpf((float) (8 + mantissa), exponent - 10));
    return (bits & 128) ? -magnitude : magnitude;
}

// FP8 e4m3 with one scale per block_rows × block_cols block; row o lies in block row
// (o + row_offset) / block_rows (row_offset: where a row slice starts inside its first block).
struct Fp8Element {
    const unsigned char* q;
    const float* scales;
    int block_rows;
    int block_cols;
    int row_offset;
    int cols;
    __device__ float operator()(int o, int c) const {
        int blocks = (cols + block_cols - 1) / block_cols;
        float scale = scales[(long long) ((o + row_offset) / block_rows) * blocks + c / block_cols];
        return scale * e4m3_to_float(q[(long long) o * cols + c]);
    }
};

// Grid ceil(out_features / 4), block 128.
extern "C" __global__ void linear_int8(const signed char* __restrict__ q, const float* __restrict__ scales,
                                       const __nv_bfloat16* __restrict__ x, int x_stride, float* __restrict__ out,
                                       int out_stride, int rows, int out_features, int in_features) {
    linear_rows(Int8Element{q, scales, in_features}, x, x_stride, out, out_stride, rows, out_features, in_features);
}

// Grid ceil(out_features / 4), block 128.
extern "C" __global__ void linear_int4(const unsigned char* __restrict__ q, const float* __restrict__ scales, int group_size,
                                       const __nv_bfloat16* __restrict__ x, int x_stride, float* __restrict__ out,
                                       int out_stride, int rows, int out_features, int in_features) {
    linear_rows(Int4Element{q, scales, group_size, in_features}, x, x_stride, out, out_stride, rows, out_features,
                in_features);
}

// Grid ceil(out_features / 4), block 128.
extern "C" __global__ void linear_fp8(const unsigned char* __restrict__ q, const float* __restrict__ scales, int block_rows,
                                      int block_cols, int row_offset, const __nv_bfloat16* __restrict__ x, int x_stride,
                                      float* __restrict__ out, int out_stride, int rows, int out_features, int in_features) {
    linear_rows(Fp8Element{q, scales, block_rows, block_cols, row_offset, in_features}, x, x_stride, out, out_stride, rows,
                out_features, in_features);
}

// out[p][o] = Σ_c x[row(p)][c]·weight(o, c) for every position p in offsets[e]..offsets[e+1], weight
// expert e's matrix: moe.cu's moe_linear_bf16 (row(p) as there) with each weight dequantized as the
// format's linear_* kernel does. The moe_linear_* kernels below run it for their format on expert blockIdx.y.
template <typename Element>
static __device__ __forceinline__ void expert_rows(Element weight, const int* __restrict__ offsets,
                                                   const int* __restrict__ sorted_routes, const __nv_bfloat16* __restrict__ x,
                                                   int x_stride, int gather_k, float* __restrict__ out, int out_stride,
                                                   int out_features, int in_features) {
    int e = blockIdx.y;
    int o = blockIdx.x * WARPS_PER_BLOCK + threadIdx.x / 32;
    int lane = threadIdx.x & 31;
    if (o >= out_features) {
        return;
    }
    int end = offsets[e + 1];
    for (int first = offsets[e]; first < end; first += ROWS_PER_PASS) {
        int n = min(ROWS_PER_PASS, end - first);
        const __nv_bfloat16* rows[ROWS_PER_PASS];
        float acc[ROWS_PER_PASS];
#pragma unroll
        for (int j = 0; j < ROWS_PER_PASS; j++) {
            int p = first + min(j, n - 1);
            rows[j] = x + (long long) (gather_k > 0 ? sorted_routes[p] / gather_k : p) * x_stride;
            acc[j] = 0.f;
        }
        for (int c = lane; c < in_features; c += 32) {
            float w = weight(o, c);
#pragma unroll
            for (int j = 0; j < ROWS_PER_PASS; j++) {
                acc[j] = fmaf(w, __bfloat162float(rows[j][c]), acc[j]);
            }
        }
        store_pass(acc, n, lane, out + (long long) first * out_stride + o, out_stride);
    }
}

// Experts INT8 per output channel (q[e], scales[e]).
// Grid (ceil(out_features / 4), experts), block 128.
extern "C" __global__ void moe_linear_int8(const signed char* const* __restrict__ q, const float* const* __restrict__ scales,
                                           const int* __restrict__ offsets, const int* __restrict__ sorted_routes,
                                           const __nv_bfloat16* __restrict__ x, int x_stride, int gather_k,
                                           float* __restrict__ out, int out_stride, int out_features, int in_features,
                                           int experts) {
    int e = blockIdx.y;
    if (e < experts) {
        expert_rows(Int8Element{q[e], scales[e], in_features}, offsets, sorted_routes, x, x_stride, gather_k, out,
                    out_stride, out_features, in_features);
    }
}

// Experts INT4 in groups of group_size columns (q[e], scales[e]), every expert with the same groups.// Grid (ceil(out_features / 4), experts), block 128.
extern "C" __global__ void moe_linear_int4(const unsigned char* const* __restrict__ q, const float* const* __restrict__ scales,
                                           int group_size, const int* __restrict__ offsets,
                                           const int* __restrict__ sorted_routes, const __nv_bfloat16* __restrict__ x,
                                           int x_stride, int gather_k, float* __restrict__ out, int out_stride,
                                           int out_features, int in_features, int experts) {
    int e = blockIdx.y;
    if (e < experts) {
        expert_rows(Int4Element{q[e], scales[e], group_size, in_features}, offsets, sorted_routes, x, x_stride, gather_k,
                    out, out_stride, out_features, in_features);
    }
}

// Experts FP8 e4m3 in blocks (q[e], scales[e]), every expert with the same blocks and row offset.// Grid (ceil(out_features / 4), experts), block 128.
extern "C" __global__ void moe_linear_fp8(const unsigned char* const* __restrict__ q, const float* const* __restrict__ scales,
                                          int block_rows, int block_cols, int row_offset, const int* __restrict__ offsets,
                                          const int* __restrict__ sorted_routes, const __nv_bfloat16* __restrict__ x,
                                          int x_stride, int gather_k, float* __restrict__ out, int out_stride,
                                          int out_features, int in_features, int experts) {
    int e = blockIdx.y;
    if (e < experts) {
        expert_rows(Fp8Element{q[e], scales[e], block_rows, block_cols, row_offset, in_features}, offsets, sorted_routes, x,
                    x_stride, gather_k, out, out_stride, out_features, in_features);
    }
}
