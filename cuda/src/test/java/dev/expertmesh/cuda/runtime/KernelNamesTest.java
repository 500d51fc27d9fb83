package dev.expertmesh.cuda.runtime;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class KernelNamesTest {

    @Test
    void findsEveryExternCKernelAndNothingElse() {
        String source = """
                #include <cuda_bf16.h>
                static __device__ float helper(float x) { return x; }
                extern "C" __global__ void rms_norm(const float* x, int x_stride) {
                }
                extern "C" __global__ __launch_bounds__(256) void add_f32(float* y, const float* x, long long n) {
                }
                extern  "C"  __global__  void
                    f32_to_bf16 (const float* x) {
                }
                __global__ void mangled(int n) {
                }
                """;
        assertThat(KernelNames.in(source)).containsExactly("rms_norm", "add_f32", "f32_to_bf16");
    }
}
