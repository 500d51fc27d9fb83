// Token embedding lookup: the first hidden state of each token, h_0 = E[token], widened to the fp32
// residual stream.
//
// Kernels: embed.
// Mirrors: Weight.copyRow as DeepseekModel calls it for embed_tokens (a bf16 widened exactly, as
// Weight.bf16ToFloat does).
#include <cuda_bf16.h>

static __device__ __forceinline__ bool aligned16(const void* p) {
    return (reinterpret_cast<unsigned long long>(p) & 15) == 0;
}

// out[r][c] = float(table[tokens[r]][c]) for c < hidden.
// Each row is copied with 16-byte loads (8 bf16) when hidden is a multiple of 8 (every DeepSeek hidden
// size is) and the rows are 16-byte aligned, else element by element; both are coalesced.
// Grid rows, block 256.
extern "C" __global__ void embed(const int* __restrict__ tokens, const __nv_bfloat16* __restrict__ table,
                                 float* __restrict__ out, int rows, int hidden) {
    int r = blockIdx.x;
    if (r >= rows) {
        return;
    }
    const __nv_bfloat16* src = table + (long long) tokens[r] * hidden;
    float* dst = out + (long long) r * hidden;
    if ((hidden & 7) == 0 && aligned16(src) && aligned16(dst)) {
        const uint4* src8 = reinterpret_cast<const uint4*>(src);
        float4* dst4 = reinterpret_cast<float4*>(dst);
        for (int i = threadIdx.x; i < hidden / 8; i += blockDim.x) {
            uint4 packed = src8[i];
            const __nv_bfloat162* pairs = reinterpret_cast<const __nv_bfloat162*>(&packed);
            float2 a = __bfloat1622float2(pairs[0]);
            float2 b = __bfloat1622float2(pairs[1]);
            float2 c = __bfloat1622float2(pairs[2]);
            float2 d = __bfloat1622float2(pairs[3]);
            dst4[2 * i] = make_float4(a.x, a.y, b.x, b.y);
            dst4[2 * i + 1] = make_float4(c.x, c.y, d.x, d.y);
        }
        return;
    }
    for (int c = threadIdx.x; c < hidden; c += blockDim.x) {
        dst[c] = __bfloat162float(src[c]);
    }
}
