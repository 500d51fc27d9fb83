// Decode attention of multi-head latent attention (DeepSeek-V2 §2.1, absorbed form, appendix C): one
// query token per row attends over its sequence's paged latent cache without expanding keys or values.
// W_UK is absorbed into the query (q_latent = W_UKᵀ·q^C per head, by cuBLAS before this kernel) and W_UV
// is applied to the output after it, so for head h
//   score_t = (q_latent·c_t^KV + q^R·k_t^R)·softmax_scale,   out = Σ_t softmax(score)_t·c_t^KV.
//
// Kernels: mla_decode.
// Mirrors: MlaAttention.attendAbsorbed (its scores, softmax and latent output; the W_UK and W_UV products
// are GEMMs). The CPU normalizes the scores by a max over all of them first; here the softmax is online
// (running max and sum per warp, merged at the end), equal in exact arithmetic. The cache is bf16.
#include <cuda_bf16.h>

#define FULL_MASK 0xffffffffu
// −∞ without <math.h>'s INFINITY, which NVRTC does not define.
#define NEG_INF __int_as_float(0xff800000)
#define DECODE_WARPS 8
// Lane l owns latent columns 2l + 64i (i < LATENT_PAIRS_PER_LANE) and rope columns 2l, 2l + 1: every
// cached row is read as bf16 pairs, 128 contiguous bytes a warp at a time. Enough for DeepSeek's
// kv_lora_rank 512 and qk_rope_head_dim 64.
#define MAX_LATENT 512
#define MAX_ROPE 64
#define LATENT_PAIRS_PER_LANE (MAX_LATENT / 64)

static __device__ __forceinline__ float warp_sum(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        v += __shfl_xor_sync(FULL_MASK, v, offset);
    }
    return v;
}

// One cached token's row: this lane's latent pairs into c, and its partial dot with the query.
static __device__ __forceinline__ float load_and_score(const __nv_bfloat162* __restrict__ row, const float2* q,
                                                       float2 q_rope, int lane, int rank, int rope_dim, float2* c) {
    float dot = 0.f;
#pragma unroll
    for (int i = 0; i < LATENT_PAIRS_PER_LANE; i++) {
        int col = 2 * lane + 64 * i;
        c[i] = col < rank ? __bfloat1622float2(row[col / 2]) : make_float2(0.f, 0.f);
        dot = fmaf(q[i].x, c[i].x, dot);
        dot = fmaf(q[i].y, c[i].y, dot);
    }
    if (2 * lane < rope_dim) {
        float2 k = __bfloat1622float2(row[rank / 2 + lane]);
        dot = fmaf(q_rope.x, k.x, dot);
        dot = fmaf(q_rope.y, k.y, dot);
    }
    return dot;
}

// The cached row of token t of a sequence, through its block table.
static __device__ __forceinline__ const __nv_bfloat162* cached_row(const __nv_bfloat16* __restrict__ cache,
                                                                   const int* __restrict__ table, int t,
                                                                   int block_tokens, int width) {
    int block = table[t / block_tokens];
    int offset = t - (t / block_tokens) * block_tokens;
    return reinterpret_cast<const __nv_bfloat162*>(cache + ((long long) block * block_tokens + offset) * width);
}

// For row r and head h: out[r][h] = Σ_t p_t·c_t over the row's seq_lens[r] cached tokens, p = softmax of
// (q_latent[r][h]·c_t + q_pe[r][h]·k^R_t)·softmax_scale. Cache rows are [c (kv_lora_rank) | k^R (rope_dim)]
// of width kv_lora_rank + rope_dim; token t of row r is at offset t % block_tokens of cache block
// block_table[r][t / block_tokens]. kv_lora_rank <= 512, rope_dim <= 64, both even.
// Each warp takes tokens warp, warp + 8, ... two at a time (both rows in flight before the reductions),
// keeping its own running max, sum and fp32 accumulator; the 8 partial states merge through shared memory.
// A block handles one (head, row): the heads of a row run in neighbouring blocks and share its cache
// rows through L2.
// Grid (heads, rows), block 256.
extern "C" __global__ void mla_decode(const float* __restrict__ q_latent, const float* __restrict__ q_pe,
                                      const __nv_bfloat16* __restrict__ cache, const int* __restrict__ block_table,
                                      const int* __restrict__ seq_lens, float* __restrict__ out, int heads,
                                      int kv_lora_rank, int rope_dim, int block_tokens, int max_blocks,
                                      float softmax_scale) {
    __shared__ float warp_max[DECODE_WARPS];
    __shared__ float warp_denominator[DECODE_WARPS];
    __shared__ float warp_numerator[DECODE_WARPS][MAX_LATENT];
    if (kv_lora_rank > MAX_LATENT || rope_dim > MAX_ROPE || ((kv_lora_rank | rope_dim) & 1)) {
        __trap();
    }
    int h = blockIdx.x;
    int r = blockIdx.y;
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    int rank = kv_lora_rank;
    int width = kv_lora_rank + rope_dim;
    long long head_row = (long long) r * heads + h;
    const float* q_row = q_latent + head_row * rank;
    const float* q_rope_row = q_pe + head_row * rope_dim;
    float2 q[LATENT_PAIRS_PER_LANE];
    float2 c0[LATENT_PAIRS_PER_LANE];
    float2 c1[LATENT_PAIRS_PER_LANE];
    float2 acc[LATENT_PAIRS_PER_LANE];
#pragma unroll
    for (int i = 0; i < LATENT_PAIRS_PER_LANE; i++) {
        int col = 2 * lane + 64 * i;
        q[i] = col < rank ? make_float2(q_row[col], q_row[col + 1]) : make_float2(0.f, 0.f);
        acc[i] = make_float2(0.f, 0.f);
    }
    float2 q_rope = 2 * lane < rope_dim ? make_float2(q_rope_row[2 * lane], q_rope_row[2 * lane + 1])
                                        : make_float2(0.f, 0.f);
    const int* table = block_table + (long long) r * max_blocks;
    int tokens = seq_lens[r];
    float running_max = NEG_INF;
    float denominator = 0.f;
    for (int t0 = warp; t0 < tokens; t0 += 2 * DECODE_WARPS) {
        int t1 = t0 + DECODE_WARPS;
        float s0 = load_and_score(cached_row(cache, table, t0, block_tokens, width), q, q_rope, lane, rank,
                                  rope_dim, c0);
        float s1 = NEG_INF;
        if (t1 < tokens) {
            s1 = load_and_score(cached_row(cache, table, t1, block_tokens, width), q, q_rope, lane, rank,
                                rope_dim, c1);
        }
        s0 = warp_sum(s0) * softmax_scale;
        if (t1 < tokens) {
            s1 = warp_sum(s1) * softmax_scale;
        }
        float new_max = fmaxf(running_max, fmaxf(s0, s1));
        float correction = expf(running_max - new_max);
        float p0 = expf(s0 - new_max);
        float p1 = t1 < tokens ? expf(s1 - new_max) : 0.f;
        denominator = denominator * correction + p0 + p1;
#pragma unroll
        for (int i = 0; i < LATENT_PAIRS_PER_LANE; i++) {
            float2 a = acc[i];
            a.x = a.x * correction + p0 * c0[i].x;
            a.y = a.y * correction + p0 * c0[i].y;
            if (t1 < tokens) {
                a.x += p1 * c1[i].x;
                a.y += p1 * c1[i].y;
            }
            acc[i] = a;
        }
        running_max = new_max;
    }
#pragma unroll
    for (int i = 0; i < LATENT_PAIRS_PER_LANE; i++) {
        int col = 2 * lane + 64 * i;
        if (col < rank) {
            warp_numerator[warp][col] = acc[i].x;
            warp_numerator[warp][col + 1] = acc[i].y;
        }
    }
    if (lane == 0) {
        warp_max[warp] = running_max;
        warp_denominator[warp] = denominator;
    }
    __syncthreads();
    float row_max = NEG_INF;
    for (int w = 0; w < DECODE_WARPS; w++) {
        row_max = fmaxf(row_max, warp_max[w]);
    }
    float weight[DECODE_WARPS];
    float total = 0.f;
#pragma unroll
    for (int w = 0; w < DECODE_WARPS; w++) {
        // A warp that saw no token (seq_len < 8) has max −∞ and weighs nothing.
        weight[w] = warp_max[w] == NEG_INF ? 0.f : expf(warp_max[w] - row_max);
        total += warp_denominator[w] * weight[w];
    }
    float inverse_total = tokens > 0 ? 1.f / total : 0.f;
    float* dst = out + head_row * rank;
    for (int col = threadIdx.x; col < rank; col += blockDim.x) {
        float sum = 0.f;
#pragma unroll
        for (int w = 0; w < DECODE_WARPS; w++) {
            sum += warp_numerator[w][col] * weight[w];
        }
        dst[col] = sum * inverse_total;
    }
}
