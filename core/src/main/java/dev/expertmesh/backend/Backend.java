package dev.expertmesh.backend;

import dev.expertmesh.tensor.Weight;

/**
 * The numeric kernels the model is written in. Activations are fp32 arrays of row vectors; weights
 * are BF16 or F32 matrices off the heap. Every method is named after what it computes.
 */
public interface Backend {

    /**
     * y = x·Wᵀ for {@code batch} rows: out[outOffset + b·W.rows + r] = Σ_c x[xOffset + b·W.cols + c]·W[r][c].
     */
    void matmul(Weight w, float[] x, int xOffset, int batch, float[] out, int outOffset);

    default void matmul(Weight w, float[] x, int batch, float[] out) {
        matmul(w, x, 0, batch, out, 0);
    }

    /** y = xᵀ·W for one vector x of W.rows values: out[outOffset + c] = Σ_r x[xOffset + r]·W[r][c]. */
    void matmulTransposed(Weight w, float[] x, int xOffset, float[] out, int outOffset);

    /** out = gain ⊙ x / sqrt(mean(x²) + eps) over {@code gain.length} values; x and out may alias. */
    void rmsNorm(float[] x, int xOffset, float[] gain, float eps, float[] out, int outOffset);

    /** out[i] = silu(gate[i])·up[i] for i below n: the SwiGLU activation. */
    void siluMul(float[] gate, float[] up, float[] out, int n);

    /** Softmax of x[offset, offset + length) in place. */
    void softmax(float[] x, int offset, int length);

    float dot(float[] a, int aOffset, float[] b, int bOffset, int n);

    /** y += alpha·x over n values. */
    void axpy(float alpha, float[] x, int xOffset, float[] y, int yOffset, int n);

    /**
     * Rotates the interleaved pairs (x[2i], x[2i+1]) of {@code cos.length} pairs starting at
     * {@code offset} by the angles whose cosines and sines are given.
     */
    void applyRope(float[] x, int offset, float[] cos, float[] sin);

    /**
     * The indices of the k largest of x[offset, offset + n), largest first (ties to the lower index),
     * written to out[0, k).
     */
    void topK(float[] x, int offset, int n, int k, int[] out);
}
