// Token dispatch around the routed experts of a DeepSeekMoE layer (DeepSeek-V2 §2.2):
// moe_gather packs the rows routed to one expert into a contiguous bf16 batch for its GEMMs, and
// moe_combine adds each token's k expert outputs, weighted by the gate values g_{i,t}, to its row:
// h'_t = h_t + Σ_j g_{j,t}·FFN_j(u_t). For a step that stays on the device, moe_align sorts the
// routes route_topk chose by expert (as vLLM's moe_align_block_size does) and moe_linear_bf16 runs
// every expert's product over its routes in one launch, reading the grouping from device memory:
// no host round trip, so the whole layer can be captured in a graph.
//
// Kernels: moe_gather, moe_combine, moe_align, moe_linear_bf16.
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

// Groups the routes by expert: offsets[e]..offsets[e+1] are the positions of expert e's routes in
// sorted_routes (experts in id order, each one's routes in route order, so a token's rows keep
// their order), sorted_routes[position] = the route (row·top_k + j), route_slots[route] = its
// position, or −1 for a route to no expert (id < 0). Each expert's thread counts and then places its
// routes, reading the ids from shared memory when they fit (a decode step's always do); the prefix
// sum is thread 0's. experts <= MAX_ALIGN_EXPERTS.
// Grid 1, block 1024.
#define MAX_ALIGN_EXPERTS 1024
#define MAX_SHARED_ROUTES 4096

extern "C" __global__ void moe_align(const int* __restrict__ expert_ids, int routes, int experts, int* __restrict__ offsets,
                                     int* __restrict__ sorted_routes, int* __restrict__ route_slots) {
    __shared__ int starts[MAX_ALIGN_EXPERTS + 1];
    __shared__ int shared_ids[MAX_SHARED_ROUTES];
    if (experts > MAX_ALIGN_EXPERTS) {
        __trap();
    }
    const int* ids = expert_ids;
    if (routes <= MAX_SHARED_ROUTES) {
        for (int i = threadIdx.x; i < routes; i += blockDim.x) {
            shared_ids[i] = expert_ids[i];
        }
        __syncthreads();
        ids = shared_ids;
    }
    for (int e = threadIdx.x; e < experts; e += blockDim.x) {
        int n = 0;
        for (int i = 0; i < routes; i++) {
            n += ids[i] == e;
        }
        starts[e + 1] = n;
    }
    for (int i = threadIdx.x; i < routes; i += blockDim.x) {
        route_slots[i] = -1;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        starts[0] = 0;
        for (int e = 0; e < experts; e++) {
            starts[e + 1] += starts[e];
        }
    }
    __syncthreads();
    for (int e = threadIdx.x; e <= experts; e += blockDim.x) {
        offsets[e] = starts[e];
    }
    for (int e = threadIdx.x; e < experts; e += blockDim.x) {
        int at = starts[e];
        for (int i = 0; i < routes; i++) {
            if (ids[i] == e) {
                sorted_routes[at] = i;
                route_slots[i] = at++;
            }
        }
    }
}

#define GROUPED_WARPS 4
#define GROUPED_TOKENS 8

// acc[t] += Σ over this lane's columns of w[c]·rows[t][c]: 8 bf16 a load (16 bytes) when every row
// is 16-byte aligned and cols a multiple of 8 (DeepSeek's hidden and intermediate sizes are), else one.
static __device__ __forceinline__ void dot_rows(const __nv_bfloat16* __restrict__ w, const __nv_bfloat16* const* rows, int cols,
                                                int lane, float* acc, bool vectorized) {
    if (vectorized) {
        const uint4* w8 = reinterpret_cast<const uint4*>(w);
        for (int c8 = lane; c8 < cols / 8; c8 += 32) {
            uint4 packed = w8[c8];
            const __nv_bfloat162* wp = reinterpret_cast<const __nv_bfloat162*>(&packed);
            float2 w01 = __bfloat1622float2(wp[0]);
            float2 w23 = __bfloat1622float2(wp[1]);
            float2 w45 = __bfloat1622float2(wp[2]);
            float2 w67 = __bfloat1622float2(wp[3]);
#pragma unroll
            for (int t = 0; t < GROUPED_TOKENS; t++) {
                uint4 xs = reinterpret_cast<const uint4*>(rows[t])[c8];
                const __nv_bfloat162* xp = reinterpret_cast<const __nv_bfloat162*>(&xs);
                float2 x01 = __bfloat1622float2(xp[0]);
                float2 x23 = __bfloat1622float2(xp[1]);
                float2 x45 = __bfloat1622float2(xp[2]);
                float2 x67 = __bfloat1622float2(xp[3]);
                float a = acc[t];
                a = fmaf(w01.x, x01.x, a);
                a = fmaf(w01.y, x01.y, a);
                a = fmaf(w23.x, x23.x, a);
                a = fmaf(w23.y, x23.y, a);
                a = fmaf(w45.x, x45.x, a);
                a = fmaf(w45.y, x45.y, a);
                a = fmaf(w67.x, x67.x, a);
                a = fmaf(w67.y, x67.y, a);
                acc[t] = a;
            }
        }
        return;
    }
    for (int c = lane; c < cols; c += 32) {
        float weight = __bfloat162float(w[c]);
#pragma unroll
        for (int t = 0; t < GROUPED_TOKENS; t++) {
            acc[t] = fmaf(weight, __bfloat162float(rows[t][c]), acc[t]);
        }
    }
}

static __device__ __forceinline__ bool aligned_rows(const void* p, long long stride_bytes) {
    return ((reinterpret_cast<unsigned long long>(p) | (unsigned long long) stride_bytes) & 15) == 0;
}

// out[p][o] = Σ_c x[row(p)][c]·W_e[o][c] for every position p in offsets[e]..offsets[e+1] of every
// expert e: a grouped GEMM over the routes moe_align sorted, each expert's weight rows read once
// per GROUPED_TOKENS of its routes. row(p) = sorted_routes[p] / gather_k when gather_k > 0 (the
// gate and up products read the token's row of x), else p (the down product reads the activations
// in sorted order). weights[e] points at expert e's bf16 [out_rows, cols] matrix, row-major.
// Accumulates in fp32, as cuBLAS's bf16 GEMMs do.
// Grid (ceil(out_rows / GROUPED_WARPS), experts), block 32·GROUPED_WARPS: a warp an output row.
extern "C" __global__ void moe_linear_bf16(const __nv_bfloat16* const* __restrict__ weights, const int* __restrict__ offsets,
                                           const int* __restrict__ sorted_routes, const __nv_bfloat16* __restrict__ x,
                                           int x_stride, int gather_k, float* __restrict__ out, int out_stride, int out_rows,
                                           int cols, int experts) {
    int e = blockIdx.y;
    int o = blockIdx.x * GROUPED_WARPS + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (e >= experts || o >= out_rows) {
        return;
    }
    int begin = offsets[e];
    int end = offsets[e + 1];
    const __nv_bfloat16* w = weights[e] + (long long) o * cols;
    bool vectorized = (cols & 7) == 0 && aligned_rows(w, 0) && aligned_rows(x, (long long) x_stride * 2);
    for (int first = begin; first < end; first += GROUPED_TOKENS) {
        int n = min(GROUPED_TOKENS, end - first);
        const __nv_bfloat16* rows[GROUPED_TOKENS];
        float acc[GROUPED_TOKENS];
#pragma unroll
        for (int t = 0; t < GROUPED_TOKENS; t++) {
            int p = first + min(t, n - 1);
            rows[t] = x + (long long) (gather_k > 0 ? sorted_routes[p] / gather_k : p) * x_stride;
            acc[t] = 0.f;
        }
        dot_rows(w, rows, cols, lane, acc, vectorized);
#pragma unroll
        for (int t = 0; t < GROUPED_TOKENS; t++) {
            float v = acc[t];
            for (int offset = 16; offset > 0; offset >>= 1) {
                v += __shfl_xor_sync(0xffffffffu, v, offset);
            }
            if (lane == 0 && t < n) {
                out[(long long) (first + t) * out_stride + o] = v;
            }
        }
    }
}
