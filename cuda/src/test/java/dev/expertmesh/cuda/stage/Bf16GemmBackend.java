package dev.expertmesh.cuda.stage;

import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.cuda.runtime.Bf16;
import dev.expertmesh.tensor.Weight;

/**
 * The CPU backend with every matrix product's activations rounded to bf16 first, as the GPU's
 * GEMMs take them (weights are bf16 already, accumulation fp32): the CPU engine in the GPU's
 * precision, so that comparing the two measures the GPU code, not bf16.
 */
public final class Bf16GemmBackend extends CpuBackend {

    @Override
    public void matmul(Weight w, float[] x, int xOffset, int batch, float[] out, int outOffset) {
        super.matmul(w, rounded(x, xOffset, batch * w.cols()), 0, batch, out, outOffset);
    }

    @Override
    public void matmulTransposed(Weight w, float[] x, int xOffset, float[] out, int outOffset) {
        super.matmulTransposed(w, rounded(x, xOffset, w.rows()), 0, out, outOffset);
    }

    private static float[] rounded(float[] x, int offset, int length) {
        float[] out = new float[length];
        for (int i = 0; i < length; i++) {
            out[i] = Weight.bf16ToFloat(Bf16.round(x[offset + i]));
        }
        return out;
    }
}
