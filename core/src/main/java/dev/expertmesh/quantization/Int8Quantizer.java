package dev.expertmesh.quantization;

import dev.expertmesh.tensor.Weight;
import dev.expertmesh.tensor.WeightFormat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Symmetric per-output-channel INT8 (the W8A16 scheme of vLLM and SGLang): each row r gets
 * s_r = max_c |W[r][c]| / 127 and q[r][c] = clamp(round(W[r][c] / s_r), -127, 127), so that
 * |W[r][c] - s_r·q[r][c]| ≤ s_r / 2. One scale per row keeps the kernel's inner loop a plain dot
 * product of q and x, scaled once at the end.
 */
public final class Int8Quantizer {
    static final int Q_MAX = 127;

    private Int8Quantizer() {
    }

    /** {@code w} quantized into {@code arena}: rows·cols int8 bytes and rows fp32 scales, no float copy kept. */
    public static Weight quantize(Weight w, Arena arena) {
        int rows = w.rows();
        int cols = w.cols();
        MemorySegment q = arena.allocate((long) rows * cols, 64);
        MemorySegment scales = arena.allocate((long) rows * Float.BYTES, 64);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            w.copyRow(r, row, 0);
            float maxAbs = 0;
            for (float v : row) {
                maxAbs = Math.max(maxAbs, Math.abs(v));
            }
            // An all-zero row keeps scale 0 and q 0: dividing by its scale would give NaN.
            float scale = maxAbs / Q_MAX;
            long rowStart = (long) r * cols;
            for (int c = 0; c < cols; c++) {
                int level = scale == 0 ? 0 : Math.clamp(Math.round(row[c] / scale), -Q_MAX, Q_MAX);
                q.set(ValueLayout.JAVA_BYTE, rowStart + c, (byte) level);
            }
            scales.setAtIndex(Weight.F32, r, scale);
        }
        return new Weight(w.name(), q, new WeightFormat.Int8PerChannel(scales), rows, cols);
    }
}
