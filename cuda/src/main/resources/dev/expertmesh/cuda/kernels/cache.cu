// Appends tokens to the paged latent KV cache of MLA (DeepSeek-V2 §2.1.2): per token only the
// compressed latent c^KV (kv_lora_rank values, already RMS-normalized) and the rotated shared rope key
// k^R (rope_dim values) are cached, as one bf16 row of width kv_lora_rank + rope_dim.
//
// Kernels: cache_write.
// Mirrors: MlaAttention.appendLatent's copy into the cache row (its rmsNorm and applyRope run before,
// as rms_norm_f32 and yarn_rope). The CPU cache holds fp32; this one holds bf16, rounded to nearest even.
#include <cuda_bf16.h>

// cache[slots[r]·width + c] = bf16(latent[r·latent_stride + c]) for c < width, where
// slot = block·block_tokens + offset in the block. A negative slot (a padding row) writes nothing.
// Grid rows, block 256.
extern "C" __global__ void cache_write(const float* __restrict__ latent, int latent_stride,
                                       const int* __restrict__ slots, __nv_bfloat16* __restrict__ cache,
                                       int rows, int width) {
    int r = blockIdx.x;
    if (r >= rows) {
        return;
    }
    int slot = slots[r];
    if (slot < 0) {
        return;
    }
    const float* src = latent + (long long) r * latent_stride;
    __nv_bfloat16* dst = cache + (long long) slot * width;
    for (int c = threadIdx.x; c < width; c += blockDim.x) {
        dst[c] = __float2bfloat16_rn(src[c]);
    }
}
