// Elementwise kernels on flat arrays: the residual add and the fp32 <-> bf16 conversions between the
// fp32 residual stream and the bf16 inputs of the cuBLAS GEMMs.
//
// Kernels: add_f32, f32_to_bf16, bf16_to_f32.
// Mirrors: CpuBackend.axpy with alpha 1 (add_f32, as DeepseekModel and LocalAttentionStage add a
// stage's output to the residual); the bf16 conversions have no CPU counterpart, since the CPU engine
// widens bf16 in registers (CpuBackend.weights) and keeps activations in fp32.
#include <cuda_bf16.h>

// y[i] += x[i]. One element a thread: the add is memory-bound and the grid is fixed by the ABI.
// Grid ceil(n/256), block 256.
extern "C" __global__ void add_f32(float* __restrict__ y, const float* __restrict__ x, long long n) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        y[i] += x[i];
    }
}

// y[i] = bf16(x[i]), rounded to nearest even.
// Grid ceil(n/256), block 256.
extern "C" __global__ void f32_to_bf16(const float* __restrict__ x, __nv_bfloat16* __restrict__ y, long long n) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        y[i] = __float2bfloat16_rn(x[i]);
    }
}

// y[i] = float(x[i]): exact, a bf16 is the top half of an fp32 (Weight.bf16ToFloat).
// Grid ceil(n/256), block 256.
extern "C" __global__ void bf16_to_f32(const __nv_bfloat16* __restrict__ x, float* __restrict__ y, long long n) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        y[i] = __bfloat162float(x[i]);
    }
}
