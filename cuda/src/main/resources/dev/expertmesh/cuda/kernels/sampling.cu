// Next-token selection from the lm_head logits: greedy (argmax) and nucleus sampling (Holtzman et al.,
// top-p) at a temperature.
//
// Kernels: argmax, top_p_sample.
// Mirrors: Sampler.sample. argmax is its greedy branch (CpuBackend.topK with k = 1: the highest logit,
// ties to the lower id). top_p_sample is its temperature branch with top-k off: probabilities
// softmax((logit − max)/T) (each exp shifted by the highest logit, so a tiny T cannot overflow), the
// nucleus = the smallest prefix of the tokens in (logit descending, id ascending) order whose mass
// reaches top_p (Sampler.candidatesByLogit + Sampler.nucleus), then an inverse-CDF draw with
// uniform[row]·(nucleus mass). Differences, all by design: the nucleus is found by bisection on the
// logit's order-preserving 32-bit key instead of a sort; sums are fp32 warp-shuffle trees (the CPU
// sums the mass in double, in sorted order); and the draw walks the nucleus in id order, not in
// probability order, which draws each token with the same probability but maps a given uniform to a
// different token. T <= 0 or top_p <= 0 take the greedy token, top_p >= 1 keeps every token.
#include <cuda_bf16.h>

#define FULL_MASK 0xffffffffu
// −∞ without <math.h>'s INFINITY, which NVRTC does not define.
#define NEG_INF __int_as_float(0xff800000)

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

template <typename T>
static __device__ __forceinline__ T warp_sum(T v) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        v += __shfl_xor_sync(FULL_MASK, v, offset);
    }
    return v;
}

// The sum over the block, returned to all threads; ends on a barrier so it can be called again at once.
template <typename T>
static __device__ T block_sum(T v) {
    __shared__ T partial[32];
    int lane = threadIdx.x & 31;
    v = warp_sum(v);
    if (lane == 0) {
        partial[threadIdx.x >> 5] = v;
    }
    __syncthreads();
    v = warp_sum(lane < (blockDim.x >> 5) ? partial[lane] : T(0));
    __syncthreads();
    return v;
}

// The inclusive prefix sum of v over the threads in order; *total gets the block's sum. Ends on a barrier.
template <typename T>
static __device__ T block_inclusive_scan(T v, T* total) {
    __shared__ T partial[32];
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    for (int offset = 1; offset < 32; offset <<= 1) {
        T before = __shfl_up_sync(FULL_MASK, v, offset);
        if (lane >= offset) {
            v += before;
        }
    }
    if (lane == 31) {
        partial[warp] = v;
    }
    __syncthreads();
    if (warp == 0) {
        T w = lane < (blockDim.x >> 5) ? partial[lane] : T(0);
        for (int offset = 1; offset < 32; offset <<= 1) {
            T before = __shfl_up_sync(FULL_MASK, w, offset);
            if (lane >= offset) {
                w += before;
            }
        }
        partial[lane] = w;
    }
    __syncthreads();
    if (warp > 0) {
        v += partial[warp - 1];
    }
    *total = partial[(blockDim.x >> 5) - 1];
    __syncthreads();
    return v;
}

// The lowest id >= 0 offered by any thread (−1 when none), to all threads: −1 is the largest unsigned,
// so an unsigned minimum skips it. __reduce_min_sync needs sm_80. Ends on a barrier.
static __device__ int block_first(int i) {
    __shared__ unsigned int partial[32];
    int lane = threadIdx.x & 31;
    unsigned int v = __reduce_min_sync(FULL_MASK, (unsigned int) i);
    if (lane == 0) {
        partial[threadIdx.x >> 5] = v;
    }
    __syncthreads();
    v = __reduce_min_sync(FULL_MASK, lane < (blockDim.x >> 5) ? partial[lane] : 0xffffffffu);
    __syncthreads();
    return (int) v;
}

// The highest i offered by any thread, to all threads. Ends on a barrier.
static __device__ int block_last(int i) {
    __shared__ int partial[32];
    int lane = threadIdx.x & 31;
    i = __reduce_max_sync(FULL_MASK, i);
    if (lane == 0) {
        partial[threadIdx.x >> 5] = i;
    }
    __syncthreads();
    i = __reduce_max_sync(FULL_MASK, lane < (blockDim.x >> 5) ? partial[lane] : -1);
    __syncthreads();
    return i;
}

// Float order as an unsigned order (Sampler.candidatesByLogit's key): −0 ranks just below +0.
static __device__ __forceinline__ unsigned int order_key(float v) {
    unsigned int bits = __float_as_uint(v);
    return (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;
}

// The probability of logit v at temperature t, given the row's highest logit and 1/Σexp.
static __device__ __forceinline__ float probability(float v, float max_logit, float t, float inverse_sum) {
    return __fmul_rn(expf(__fdiv_rn(__fsub_rn(v, max_logit), t)), inverse_sum);
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

// out[row] = a token drawn from the nucleus of softmax(logits[row] / temperature[row]) with mass
// top_p[row], by inverse CDF at uniform[row] ∈ [0, 1).
// The nucleus is {key > K} ∪ (the first n tokens, by id, with key == K), K being the largest key whose
// tail mass M(K) = Σ_{key ≥ K} p reaches top_p: 32 bisection steps, each one pass over the row (from L2
// for any vocabulary that fits there). M is non-increasing in K even in fp32, so the bisection is exact.
// Grid rows, block 1024.
extern "C" __global__ void top_p_sample(const float* __restrict__ logits, const float* __restrict__ temperature,
                                        const float* __restrict__ top_p, const float* __restrict__ uniform,
                                        int* __restrict__ out, int rows, int vocab) {
    __shared__ float tie_probability;
    __shared__ int tie_quota;
    int row = blockIdx.x;
    if (row >= rows) {
        return;
    }
    const float* x = logits + (long long) row * vocab;
    float t = temperature[row];
    float p_target = top_p[row];
    int best = row_argmax(x, vocab);
    if (!(t > 0.f) || !(p_target > 0.f)) {
        if (threadIdx.x == 0) {
            out[row] = best;
        }
        return;
    }
    float max_logit = x[best];
    float exp_sum = 0.f;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        exp_sum += expf(__fdiv_rn(__fsub_rn(x[i], max_logit), t));
    }
    float inverse_sum = __fdiv_rn(1.f, block_sum(exp_sum));

    // The threshold key K (every token when top_p >= 1).
    unsigned long long threshold = 0;
    if (p_target < 1.f) {
        unsigned long long low = 0;
        unsigned long long high = 1ull << 32;
        while (high - low > 1) {
            unsigned long long mid = (low + high) >> 1;
            float tail = 0.f;
            for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
                if (order_key(x[i]) >= mid) {
                    tail += probability(x[i], max_logit, t, inverse_sum);
                }
            }
            if (block_sum(tail) >= p_target) {
                low = mid;
            } else {
                high = mid;
            }
        }
        threshold = low;
    }
    float above = 0.f;
    int ties = 0;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        unsigned int key = order_key(x[i]);
        if (key > threshold) {
            above += probability(x[i], max_logit, t, inverse_sum);
        } else if (key == threshold) {
            ties++;
            tie_probability = probability(x[i], max_logit, t, inverse_sum);
        }
    }
    above = block_sum(above);
    ties = block_sum(ties);
    if (threadIdx.x == 0) {
        // The fewest tokens at K, in id order, that bring the mass to top_p (Sampler.nucleus).
        int n = ties;
        if (ties > 0 && p_target < 1.f) {
            float p = tie_probability;
            n = max(1, min(ties, (int) ceilf(__fdiv_rn(p_target - above, p))));
            while (n > 1 && above + (n - 1) * p >= p_target) {
                n--;
            }
            while (n < ties && above + n * p < p_target) {
                n++;
            }
        }
        tie_quota = n;
    }
    __syncthreads();
    int quota = tie_quota;
    float nucleus_mass = quota > 0 ? above + quota * tie_probability : above;

    // Inverse CDF over the nucleus in id order, a tile of blockDim.x ids at a time.
    float target = __fmul_rn(uniform[row], nucleus_mass);
    float cumulative = 0.f;
    int ties_before = 0;
    int last_kept = best;
    for (int base = 0; base < vocab; base += blockDim.x) {
        int i = base + threadIdx.x;
        unsigned int key = i < vocab ? order_key(x[i]) : 0u;
        int tied = i < vocab && key == threshold;
        int tie_total;
        int tie_rank = block_inclusive_scan(tied, &tie_total) - tied + ties_before;
        bool kept = i < vocab && (key > threshold || (tied && tie_rank < quota));
        float p = kept ? probability(x[i], max_logit, t, inverse_sum) : 0.f;
        float tile_mass;
        float reached = cumulative + block_inclusive_scan(p, &tile_mass);
        int drawn = block_first(kept && reached > target ? i : -1);
        if (drawn >= 0) {
            if (threadIdx.x == 0) {
                out[row] = drawn;
            }
            return;
        }
        last_kept = max(last_kept, block_last(kept ? i : -1));
        cumulative += tile_mass;
        ties_before += tie_total;
    }
    if (threadIdx.x == 0) {
        out[row] = last_kept;
    }
}
