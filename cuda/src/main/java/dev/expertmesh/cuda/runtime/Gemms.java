package dev.expertmesh.cuda.runtime;

import dev.expertmesh.cuda.binding.Cublas;

/**
 * The row-major products the stages need, per head, as column-major cuBLAS calls: a row-major
 * matrix [r, c] is a column-major [c, r] one, so y = x·Mᵀ becomes yᵀ = M·xᵀ with nothing moved.
 * Matrices are bf16; outputs fp32.
 */
public final class Gemms {

    /** Head h's matrix: row-major [rows, cols] bf16 at address + h·headStride elements. */
    public record Matrices(long address, long headStride, int rows, int cols) {
        public static Matrices of(DeviceWeight w) {
            return new Matrices(w.address(), 0, w.rows(), w.cols());
        }
    }

    /** Row r, head h of a [rows, heads, ·] tensor: at address + r·rowStride + h·headStride elements. */
    public record Rows(long address, int dataType, int rowStride, int headStride) {
        public static Rows bf16(long address, int rowStride, int headStride) {
            return new Rows(address, Cublas.R_16BF, rowStride, headStride);
        }

        public static Rows f32(long address, int rowStride, int headStride) {
            return new Rows(address, Cublas.R_32F, rowStride, headStride);
        }
    }

    private Gemms() {
    }

    /** out[r][h] = M_h·x[r][h] (= x·M_hᵀ) for r below {@code rows}: a linear layer per head. */
    public static void timesTranspose(Cublas cublas, int heads, int rows, Rows x, Matrices m, Rows out) {
        run(cublas, Cublas.TRANSPOSE, m.rows(), rows, m.cols(), heads,
                new Cublas.Operand(m.address(), Cublas.R_16BF, m.cols(), m.headStride()), x, out);
    }

    /** out[r][h] = x[r][h]·M_h (= M_hᵀ·x[r][h]) for r below {@code rows}. */
    public static void times(Cublas cublas, int heads, int rows, Rows x, Matrices m, Rows out) {
        run(cublas, Cublas.NO_TRANSPOSE, m.cols(), rows, m.rows(), heads,
                new Cublas.Operand(m.address(), Cublas.R_16BF, m.cols(), m.headStride()), x, out);
    }

    private static void run(Cublas cublas, int transA, int m, int n, int k, int heads, Cublas.Operand a, Rows x, Rows out) {
        Cublas.Operand b = new Cublas.Operand(x.address(), x.dataType(), x.rowStride(), x.headStride());
        Cublas.Operand c = new Cublas.Operand(out.address(), out.dataType(), out.rowStride(), out.headStride());
        if (heads == 1) {
            cublas.gemm(transA, Cublas.NO_TRANSPOSE, m, n, k, a, b, c);
        } else {
            cublas.gemmStridedBatched(transA, Cublas.NO_TRANSPOSE, m, n, k, a, b, c, heads);
        }
    }
}
