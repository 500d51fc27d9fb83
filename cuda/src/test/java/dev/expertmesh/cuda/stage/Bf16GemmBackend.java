package dev.expertmesh.cuda.stage;

import dev.expertmesh.backend.Backend;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.cuda.runtime.Bf16;
import dev.expertmesh.tensor.Weight;

/**
 * The CPU backend with every matrix product's activations rounded to bf16 first, as the GPU's
 * GEMMs take them (weights are bf16 already, accumulation fp32): the CPU engine in the GPU's
 * precision, so that comparing the two measures the GPU code, not bf16.
 */
final class Bf16GemmBackend implements Backend {
    private final CpuBackend cpu = new CpuBackend();

    private static float[] rounded(float[] x, int offset, int length) {
        float[] out = new float[length];
        for (int i = 0; i < length; i++) {
            out[i] = Weight.bf16ToFloat(Bf16.round(x[offset + i]));
        }
        return out;
    }

    @Override
    public void matmul(Weight w, float[] x, int xOffset, int batch, float[] out, int outOffset) {
        cpu.matmul(w, rounded(x, xOffset, batch * w.cols()), 0, batch, out, outOffset);
    }

    @Override
    public void matmulTransposed(Weight w, float[] x, int xOffset, float[] out, int outOffset) {
        cpu.matmulTransposed(w, rounded(x, xOffset, w.rows()), 0, out, outOffset);
    }

    @Override
    public void rmsNorm(float[] x, int xOffset, float[] gain, float eps, float[] out, int outOffset) {
        cpu.rmsNorm(x, xOffset, gain, eps, out, outOffset);
    }

    @Override
    public void siluMul(float[] gate, float[] up, float[] out, int n) {
        cpu.siluMul(gate, up, out, n);
    }

    @Override
    public void softmax(float[] x, int offset, int length) {
        cpu.softmax(x, offset, length);
    }

    @Override
    public float dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
        return cpu.dot(a, aOffset, b, bOffset, n);
    }

    @Override
    public void axpy(float alpha, float[] x, int xOffset, float[] y, int yOffset, int n) {
        cpu.axpy(alpha, x, xOffset, y, yOffset, n);
    }

    @Override
    public void applyRope(float[] x, int offset, float[] cos, float[] sin) {
        cpu.applyRope(x, offset, cos, sin);
    }

    @Override
    public void topK(float[] x, int offset, int n, int k, int[] out) {
        cpu.topK(x, offset, n, k, out);
    }
}
