// The gate of a DeepSeekMoE layer: the affinities s_{i,t} of token t to each routed expert (softmax or
// sigmoid of the router logits u_t·e_i), the choice of its top-K experts (DeepSeek-V2 §2.2 greedy,
// V2 §2.2.2 device-limited "group_limited_greedy", or V3 §2.1.2 auxiliary-loss-free "noaux_tc" with
// the bias b_i added for the choice only), and the gate values g_{i,t} (the chosen affinities,
// normalized if norm_topk_prob, times routed_scaling_factor).
//
// Kernels: route_topk.
// Mirrors: Router.route with Router.score and Routing.{Greedy, GroupLimitedGreedy, NoAuxTc}.choose,
// including Routing.chooseWithinGroups's masking to 0 (not −∞) and CpuBackend.topK's order: highest
// first, ties to the lower index. Sigmoid is evaluated in double as Router.score does; softmax's exp too
// (as CpuBackend.softmax), its sum is a warp-shuffle tree (the CPU adds in index order), and
// 1/sum multiplies every score as on the CPU, so the order of the scores, hence the choice, is the CPU's.
// The gate values are summed in slot order on one thread, exactly as Router.route sums them.
#include <cuda_bf16.h>

#define FULL_MASK 0xffffffffu
#define MAX_EXPERTS 256
// −∞ without <math.h>'s INFINITY, which NVRTC does not define.
#define NEG_INF __int_as_float(0xff800000)

static __device__ __forceinline__ float warp_sum(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        v += __shfl_xor_sync(FULL_MASK, v, offset);
    }
    return v;
}

static __device__ __forceinline__ float warp_max(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, offset));
    }
    return v;
}

// The sum of every thread's v, returned to all threads; callable repeatedly (it ends on a barrier).
static __device__ float block_sum(float v) {
    __shared__ float partial[32];
    v = warp_sum(v);
    if ((threadIdx.x & 31) == 0) {
        partial[threadIdx.x >> 5] = v;
    }
    __syncthreads();
    v = (threadIdx.x & 31) < (blockDim.x >> 5) ? partial[threadIdx.x & 31] : 0.f;
    v = warp_sum(v);
    __syncthreads();
    return v;
}

static __device__ float block_max(float v) {
    __shared__ float partial[32];
    v = warp_max(v);
    if ((threadIdx.x & 31) == 0) {
        partial[threadIdx.x >> 5] = v;
    }
    __syncthreads();
    v = (threadIdx.x & 31) < (blockDim.x >> 5) ? partial[threadIdx.x & 31] : NEG_INF;
    v = warp_max(v);
    __syncthreads();
    return v;
}

// Whether candidate (v, i) ranks before (best, best_index) in CpuBackend.topK's order: a higher value,
// or an equal one at a lower index. An index < 0 is no candidate.
static __device__ __forceinline__ bool ranks_before(float v, int i, float best, int best_index) {
    return i >= 0 && (best_index < 0 || v > best || (v == best && i < best_index));
}

// The index of the highest-ranked candidate over the block, returned to all threads (−1 if none).
static __device__ int block_argmax(float v, int i) {
    __shared__ float partial_values[32];
    __shared__ int partial_indices[32];
    for (int offset = 16; offset > 0; offset >>= 1) {
        float other = __shfl_xor_sync(FULL_MASK, v, offset);
        int other_index = __shfl_xor_sync(FULL_MASK, i, offset);
        if (ranks_before(other, other_index, v, i)) {
            v = other;
            i = other_index;
        }
    }
    if ((threadIdx.x & 31) == 0) {
        partial_values[threadIdx.x >> 5] = v;
        partial_indices[threadIdx.x >> 5] = i;
    }
    __syncthreads();
    int lane = threadIdx.x & 31;
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

// CpuBackend.topK on one thread, for the few group scores and the two best of a group: insertion into
// a sorted buffer of k, so ties keep the lower index first.
static __device__ void topk_sequential(const float* x, int n, int k, int* out) {
    int filled = 0;
    for (int i = 0; i < n; i++) {
        float v = x[i];
        if (filled == k && !(v > x[out[k - 1]])) {
            continue;
        }
        int j = filled == k ? k - 1 : filled++;
        while (j > 0 && v > x[out[j - 1]]) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = i;
    }
}

// Chooses the top_k experts of each row and their gate values.
//   logits            [rows, experts] router logits (x·W_gateᵀ)
//   correction_bias   [experts], read by noaux_tc only (may be null otherwise)
//   expert_ids        [rows, top_k] out, highest choice score first
//   expert_weights    [rows, top_k] out
//   method            0 greedy, 1 group_limited_greedy, 2 noaux_tc; groups, topk_groups for 1 and 2
//   scoring           0 softmax, 1 sigmoid; normalize: norm_topk_prob; scaling: routed_scaling_factor
// Grid rows, block 256 (experts <= 256).
extern "C" __global__ void route_topk(const float* __restrict__ logits, const float* __restrict__ correction_bias,
                                      int* __restrict__ expert_ids, float* __restrict__ expert_weights, int rows,
                                      int experts, int top_k, int method, int groups, int topk_groups, int scoring,
                                      int normalize, float scaling) {
    __shared__ float scores[MAX_EXPERTS];
    __shared__ float choice[MAX_EXPERTS];
    __shared__ float group_scores[MAX_EXPERTS];
    __shared__ int kept_groups[MAX_EXPERTS];
    __shared__ bool group_kept[MAX_EXPERTS];
    __shared__ bool taken[MAX_EXPERTS];
    __shared__ int chosen[MAX_EXPERTS];
    int r = blockIdx.x;
    if (r >= rows) {
        return;
    }
    if (experts > MAX_EXPERTS || top_k > experts) {
        __trap();
    }
    int tid = threadIdx.x;
    const float* row = logits + (long long) r * experts;

    if (scoring == 0) {
        float local_max = NEG_INF;
        for (int e = tid; e < experts; e += blockDim.x) {
            local_max = fmaxf(local_max, row[e]);
        }
        float max = block_max(local_max);
        float local_sum = 0.f;
        for (int e = tid; e < experts; e += blockDim.x) {
            float exp_shifted = (float) exp((double) (row[e] - max));
            scores[e] = exp_shifted;
            local_sum += exp_shifted;
        }
        float inverse = __fdiv_rn(1.f, block_sum(local_sum));
        for (int e = tid; e < experts; e += blockDim.x) {
            scores[e] = __fmul_rn(scores[e], inverse);
        }
    } else {
        for (int e = tid; e < experts; e += blockDim.x) {
            scores[e] = (float) (1.0 / (1.0 + exp(-(double) row[e])));
        }
    }
    for (int e = tid; e < experts; e += blockDim.x) {
        choice[e] = method == 2 ? __fadd_rn(scores[e], correction_bias[e]) : scores[e];
        taken[e] = false;
    }
    __syncthreads();

    if (method != 0) {
        int group_size = experts / groups;
        for (int g = tid; g < groups; g += blockDim.x) {
            const float* members = choice + g * group_size;
            if (method == 1) {
                float best = NEG_INF;
                for (int e = 0; e < group_size; e++) {
                    best = fmaxf(best, members[e]);
                }
                group_scores[g] = best;
            } else {
                int best_two[2];
                topk_sequential(members, group_size, 2, best_two);
                group_scores[g] = __fadd_rn(members[best_two[0]], members[best_two[1]]);
            }
            group_kept[g] = false;
        }
        __syncthreads();
        if (tid == 0) {
            topk_sequential(group_scores, groups, topk_groups, kept_groups);
            for (int j = 0; j < topk_groups; j++) {
                group_kept[kept_groups[j]] = true;
            }
        }
        __syncthreads();
        for (int e = tid; e < experts; e += blockDim.x) {
            if (!group_kept[e / group_size]) {
                choice[e] = 0.f;
            }
        }
        __syncthreads();
    }

    for (int j = 0; j < top_k; j++) {
        float best = 0.f;
        int best_index = -1;
        for (int e = tid; e < experts; e += blockDim.x) {
            if (!taken[e] && ranks_before(choice[e], e, best, best_index)) {
                best = choice[e];
                best_index = e;
            }
        }
        int winner = block_argmax(best, best_index);
        if (tid == 0) {
            chosen[j] = winner;
            taken[winner] = true;
        }
        __syncthreads();
    }

    if (tid == 0) {
        float sum = 0.f;
        for (int j = 0; j < top_k; j++) {
            sum = __fadd_rn(sum, scores[chosen[j]]);
        }
        float scale = normalize ? __fdiv_rn(scaling, __fadd_rn(sum, 1e-20f)) : scaling;
        for (int j = 0; j < top_k; j++) {
            expert_ids[(long long) r * top_k + j] = chosen[j];
            expert_weights[(long long) r * top_k + j] = __fmul_rn(scores[chosen[j]], scale);
        }
    }
}
