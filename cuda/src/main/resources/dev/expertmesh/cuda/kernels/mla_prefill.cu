// Prefill attention of multi-head latent attention (DeepSeek-V2 §2.1, expanded form): the keys
// k_t = [W_UK·c_t^KV | k_t^R] and values v_t = W_UV·c_t^KV of a sequence's tokens 0..context−1 are
// materialized per head (by cuBLAS from the latent cache before this kernel), and each query of a chunk
// attends causally:
//   out_i = Σ_{t ≤ position(i)} softmax_t(q_i·k_t·softmax_scale)·v_t.
//
// Kernels: mla_prefill.
// Mirrors: MlaAttention.attendExpanded. The CPU adds the nope and rope dot products
// (q^C·k^C + q^R·k^R); here one dot runs over the whole qk_head_dim, and the softmax is online
// (FlashAttention-2 style: running max and sum per query, one key tile at a time), equal in exact
// arithmetic.
#include <cuda_bf16.h>

#define FULL_MASK 0xffffffffu
// −∞ without <math.h>'s INFINITY, which NVRTC does not define.
#define NEG_INF __int_as_float(0xff800000)
#define PREFILL_WARPS 8
#define QUERIES_PER_WARP 2
#define QUERIES_PER_BLOCK (PREFILL_WARPS * QUERIES_PER_WARP)
// One key a lane: a tile is 32 keys.
#define KEY_TILE 32
// DeepSeek's qk_head_dim (128 nope + 64 rope) and v_head_dim.
#define MAX_QK 192
#define MAX_V 128
#define V_PER_LANE (MAX_V / 32)
// The K tile's rows are padded by one float so that lane j reading column c of key j hits bank
// (j·(MAX_QK + 1) + c) mod 32: all 32 lanes in distinct banks.
#define K_STRIDE (MAX_QK + 1)

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

// Copies rows [first, first + KEY_TILE) of a [context, heads, dim] tensor's head h into tile (row
// stride `stride`), zeros past the context. All threads take part; coalesced along each row.
static __device__ __forceinline__ void load_tile(float* tile, int stride, const float* __restrict__ src, int first,
                                                 int context, int heads, int h, int dim) {
    for (int index = threadIdx.x; index < KEY_TILE * dim; index += blockDim.x) {
        int j = index / dim;
        int c = index - j * dim;
        int t = first + j;
        tile[j * stride + c] = t < context ? src[((long long) t * heads + h) * dim + c] : 0.f;
    }
}

// For head h and the 16 queries i of block y (i = 16y .. 16y + 15, i < rows), query i at position
// first_position + i:
//   out[i][h] = Σ_{t ≤ first_position + i, t < context} softmax(q[i][h]·k[t][h]·softmax_scale)_t·v[t][h].
// q [rows, heads, qk_head_dim] (nope then rope part), k [context, heads, qk_head_dim],
// v [context, heads, v_head_dim], out [rows, heads, v_head_dim]; qk_head_dim <= 192, v_head_dim <= 128.
// Each warp owns two queries. Per tile of 32 keys the block stages K in shared memory; lane j scores key j
// against both queries (the queries broadcast from shared memory), the warp updates each query's running
// max and sum by shuffles; then V replaces K in the same buffer and lane l accumulates value columns
// l, l + 32, ... weighted by the 32 probabilities, shuffled from the lanes that own them. Tiles past the
// block's last visible key are not loaded, and a warp skips tiles past its own queries' last key.
// Grid (heads, ceil(rows/16)), block 256.
extern "C" __global__ void mla_prefill(const float* __restrict__ q, const float* __restrict__ k,
                                       const float* __restrict__ v, float* __restrict__ out, int rows, int context,
                                       int first_position, int heads, int qk_head_dim, int v_head_dim,
                                       float softmax_scale) {
    __shared__ float tile[KEY_TILE * K_STRIDE];
    __shared__ float queries[PREFILL_WARPS][QUERIES_PER_WARP][MAX_QK];
    if (qk_head_dim > MAX_QK || v_head_dim > MAX_V) {
        __trap();
    }
    int h = blockIdx.x;
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    int block_first_query = blockIdx.y * QUERIES_PER_BLOCK;
    int block_queries = min(QUERIES_PER_BLOCK, rows - block_first_query);
    int first_query = block_first_query + warp * QUERIES_PER_WARP;
    int warp_queries = max(0, min(QUERIES_PER_WARP, rows - first_query));

    for (int j = 0; j < QUERIES_PER_WARP; j++) {
        for (int c = lane; c < qk_head_dim; c += 32) {
            long long at = ((long long) (first_query + j) * heads + h) * qk_head_dim + c;
            queries[warp][j][c] = j < warp_queries ? q[at] : 0.f;
        }
    }
    float running_max[QUERIES_PER_WARP];
    float denominator[QUERIES_PER_WARP];
    float acc[QUERIES_PER_WARP][V_PER_LANE];
#pragma unroll
    for (int j = 0; j < QUERIES_PER_WARP; j++) {
        running_max[j] = NEG_INF;
        denominator[j] = 0.f;
#pragma unroll
        for (int i = 0; i < V_PER_LANE; i++) {
            acc[j][i] = 0.f;
        }
    }
    // The last key any query of the block sees, and the last one this warp's queries see.
    int block_last_key = min(context - 1, first_position + block_first_query + block_queries - 1);
    int warp_last_key = min(context - 1, first_position + first_query + warp_queries - 1);

    for (int first_key = 0; first_key <= block_last_key; first_key += KEY_TILE) {
        __syncthreads();
        load_tile(tile, K_STRIDE, k, first_key, context, heads, h, qk_head_dim);
        __syncthreads();
        bool active = warp_queries > 0 && first_key <= warp_last_key;
        int key = first_key + lane;
        float p[QUERIES_PER_WARP];
        float correction[QUERIES_PER_WARP];
        if (active) {
            float dot[QUERIES_PER_WARP] = {0.f, 0.f};
            const float* key_row = tile + lane * K_STRIDE;
#pragma unroll 4
            for (int c = 0; c < qk_head_dim; c++) {
                float kc = key_row[c];
                dot[0] = fmaf(queries[warp][0][c], kc, dot[0]);
                dot[1] = fmaf(queries[warp][1][c], kc, dot[1]);
            }
#pragma unroll
            for (int j = 0; j < QUERIES_PER_WARP; j++) {
                bool visible = j < warp_queries && key < context && key <= first_position + first_query + j;
                float score = visible ? dot[j] * softmax_scale : NEG_INF;
                // Key 0 is in the first tile and visible to every query, so new_max is finite from then on.
                float new_max = fmaxf(running_max[j], warp_max(score));
                correction[j] = j < warp_queries ? expf(running_max[j] - new_max) : 0.f;
                p[j] = visible ? expf(score - new_max) : 0.f;
                denominator[j] = denominator[j] * correction[j] + warp_sum(p[j]);
                running_max[j] = new_max;
            }
        }
        __syncthreads();
        load_tile(tile, MAX_V, v, first_key, context, heads, h, v_head_dim);
        __syncthreads();
        if (active) {
#pragma unroll
            for (int j = 0; j < QUERIES_PER_WARP; j++) {
#pragma unroll
                for (int i = 0; i < V_PER_LANE; i++) {
                    acc[j][i] *= correction[j];
                }
            }
            for (int t = 0; t < KEY_TILE; t++) {
                float p0 = __shfl_sync(FULL_MASK, p[0], t);
                float p1 = __shfl_sync(FULL_MASK, p[1], t);
                const float* value_row = tile + t * MAX_V;
#pragma unroll
                for (int i = 0; i < V_PER_LANE; i++) {
                    float value = value_row[lane + 32 * i];
                    acc[0][i] = fmaf(p0, value, acc[0][i]);
                    acc[1][i] = fmaf(p1, value, acc[1][i]);
                }
            }
        }
    }
#pragma unroll
    for (int j = 0; j < QUERIES_PER_WARP; j++) {
        if (j < warp_queries) {
            float* dst = out + ((long long) (first_query + j) * heads + h) * v_head_dim;
            float inverse = 1.f / denominator[j];
#pragma unroll
            for (int i = 0; i < V_PER_LANE; i++) {
                int col = lane + 32 * i;
                if (col < v_head_dim) {
                    dst[col] = acc[j][i] * inverse;
                }
            }
        }
    }
}
