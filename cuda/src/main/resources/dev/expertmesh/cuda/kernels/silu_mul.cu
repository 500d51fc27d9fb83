// The SwiGLU activation of a DeepSeekMoE expert (DeepSeek-V2 §2.2): h = silu(x·W_gateᵀ) ⊙ (x·W_upᵀ),
// fed as bf16 to the down projection. Gate and up come from one GEMM against the fused [2·inter, hidden]
// weight, so each row is [gate (inter) | up (inter)].
//
// Kernels: silu_mul.
// Mirrors: CpuBackend.siluMul (as Expert.forward calls it): g / (1 + exp(−g)) · up, each operation
// rounded to fp32 in that order. expf is CUDA's accurate exp (not __expf), within 2 ulp of Java's
// (float) Math.exp.
#include <cuda_bf16.h>

// out[r][i] = bf16(silu(gate_up[r][i])·gate_up[r][inter + i]), i < inter.
// Grid rows, block 256.
extern "C" __global__ void silu_mul(const float* __restrict__ gate_up, __nv_bfloat16* __restrict__ out, int rows,
                                    int inter) {
    int r = blockIdx.x;
    if (r >= rows) {
        return;
    }
    const float* gate = gate_up + (long long) r * 2 * inter;
    const float* up = gate + inter;
    __nv_bfloat16* dst = out + (long long) r * inter;
    for (int i = threadIdx.x; i < inter; i += blockDim.x) {
        float g = gate[i];
        float silu = __fdiv_rn(g, __fadd_rn(1.f, expf(-g)));
        dst[i] = __float2bfloat16_rn(__fmul_rn(silu, up[i]));
    }
}
