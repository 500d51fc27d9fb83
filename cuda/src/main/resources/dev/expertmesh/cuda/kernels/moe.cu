// Token dispatch around the routed experts of a DeepSeekMoE layer (DeepSeek-V2 §2.2):
// moe_gather packs the rows routed to one expert into a contiguous bf16 batch for its GEMMs, and
// moe_combine adds each token's k expert outputs, weighted by the gate values g_{i,t}, to its row:
// h'_t = h_t + Σ_j g_{j,t}·FFN_j(u_t).
//
// Kernels: moe_gather, moe_combine.
// Mirrors: LocalExpertStage.forward: the System.arraycopy into `gathered` (moe_gather) and the
// backend.axpy(weights[i], expertOut, ...) into `out` (moe_combine). Each product is fused into the
// running sum (fmaf), as CpuBackend.axpy's vector loop fuses it; the sum runs over a token's slots
// j = 0..k−1 in order, where the CPU adds experts in id order, so the two may differ in the last bits
// when a token has three or more experts.
#include <cuda_bf16.h>

static __device__ __forceinline__ bool aligned16(const void* p) {
    return (reinterpret_cast<unsigned long long>(p) & 15) == 0;
}

// out[i] = x[source_rows[i]], rows of hidden bf16 values; 16-byte loads when hidden is a multiple
// of 8 and the rows are 16-byte aligned.
// Grid rows, block 256.
extern "C" __global__ void moe_gather(const __nv_bfloat16* __restrict__ x, const int* __restrict__ source_rows,
                                      __nv_bfloat16* __restrict__ out, int rows, int hidden) {
    int i = blockIdx.x;
    if (i >= rows) {
        return;
    }
    const __nv_bfloat16* src = x + (long long) source_rows[i] * hidden;
    __nv_bfloat16* dst = out + (long long) i * hidden;
    if ((hidden & 7) == 0 && aligned16(src) && aligned16(dst)) {
        const uint4* src8 = reinterpret_cast<const uint4*>(src);
        uint4* dst8 = reinterpret_cast<uint4*>(dst);
        for (int c = threadIdx.x; c < hidden / 8; c += blockDim.x) {
            dst8[c] = src8[c];
        }
        return;
    }
    for (int c = threadIdx.x; c < hidden; c += blockDim.x) {
        dst[c] = src[c];
    }
}

// out[r] += Σ_j weights[r·top_k + j]·expert_out[slots[r·top_k + j]] over j in order, skipping slots < 0
// (experts served elsewhere). One thread owns each output element for the whole sum: deterministic,
// no atomics.
// Grid rows, block 256.
extern "C" __global__ void moe_combine(const float* __restrict__ expert_out, const int* __restrict__ slots,
                                       const float* __restrict__ weights, float* __restrict__ out,
                                       int rows, int top_k, int hidden) {
    int r = blockIdx.x;
    if (r >= rows) {
        return;
    }
    const int* row_slots = slots + (long long) r * top_k;
    const float* row_weights = weights + (long long) r * top_k;
    float* dst = out + (long long) r * hidden;
    for (int c = threadIdx.x; c < hidden; c += blockDim.x) {
        float acc = dst[c];
        for (int j = 0; j < top_k; j++) {
            int slot = row_slots[j];
            if (slot >= 0) {
                acc = fmaf(expert_out[(long long) slot * hidden + c], row_weights[j], acc);
            }
        }
        dst[c] = acc;
    }
}
