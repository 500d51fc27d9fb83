// Next-token selection from the lm_head logits on the device: greedy (argmax), so that a greedy
// step downloads the chosen ids only.
//
// Kernels: argmax.
// Mirrors: Sampler.sample's greedy branch (CpuBackend.topK with k = 1: the highest logit, ties to the
// lower id). Temperature sampling stays on the host: Sampler draws from its own seeded random in
// probability order, which a device draw would not reproduce token for token.
#include <cuda_bf16.h>

#define FULL_MASK 0xffffffffu

// Whether candidate (v, i) ranks before (best, best_index): a higher logit, or an equal one at a lower
// id (CpuBackend.topK's order). An index < 0 is no candidate.
static __device__ __forceinline__ bool ranks_before(float v, int i, float best, int best_index) {
    return i >= 0 && (best_index < 0 || v > best || (v == best && i < best_index));
}

// The id of the highest-ranked candidate over the block, returned to all threads; ends on a barrier.
static __device__ int block_argmax(float v, int i) {
    __shared__ float partial_values[32];
    __shared__ int partial_indices[32];
    int lane = threadIdx.x & 31;
    for (int offset = 16; offset > 0; offset >>= 1) {
        float other = __shfl_xor_sync(FULL_MASK, v, offset);
        int other_index = __shfl_xor_sync(FULL_MASK, i, offset);
        if (ranks_before(other, other_index, v, i)) {
            v = other;
            i = other_index;
        }
    }
    if (lane == 0) {
        partial_values[threadIdx.x >> 5] = v;
        partial_indices[threadIdx.x >> 5] = i;
    }
    __syncthreads();
    v = lane < (blockDim.x >> 5) ? partial_values[lane] : 0.f;
    i = lane < (blockDim.x >> 5) ? partial_indices[lane] : -1;
    for (int offset = 16; offset > 0; offset >>= 1) {
        float other = __shfl_xor_sync(FULL_MASK, v, offset);
        int other_index = __shfl_xor_sync(FULL_MASK, i, offset);
        if (ranks_before(other, other_index, v, i)) {
            v = other;
            i = other_index;
        }
    }
    __syncthreads();
    return i;
}

// The greedy token of one row of logits, returned to all threads.
static __device__ int row_argmax(const float* __restrict__ logits, int vocab) {
    float best = 0.f;
    int best_index = -1;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        if (ranks_before(logits[i], i, best, best_index)) {
            best = logits[i];
            best_index = i;
        }
    }
    return block_argmax(best, best_index);
}

// out[row] = the id of the highest logit, ties to the lower id.
// Grid rows, block 1024.
extern "C" __global__ void argmax(const float* __restrict__ logits, int* __restrict__ out, int rows, int vocab) {
    int row = blockIdx.x;
    if (row >= rows) {
        return;
    }
    int best = row_argmax(logits + (long long) row * vocab, vocab);
    if (threadIdx.x == 0) {
        out[row] = best;
    }
}
