package dev.expertmesh.quantization;

import dev.expertmesh.tensor.Weight;
import dev.expertmesh.tensor.WeightFormat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Symmetric group-wise INT4 (the W4A16 scheme of GPTQ/AWQ-style kernels, without their calibration):
 * each group of {@code groupSize} consecutive columns of a row gets s = max |W| / 7 and
 * q = clamp(round(W / s), -7, 7), so that |W - s·q| ≤ s / 2. The last group of a row may be shorter.
 * Bytes are laid out as {@link WeightFormat.Int4Grouped} says.
 */
public final class Int4Quantizer {
    static final int Q_MAX = 7;
    private static final int NIBBLE_BIAS = 8;

    private Int4Quantizer() {
    }

    /** {@code w} quantized into {@code arena} in groups of {@code groupSize} columns. */
    public static Weight quantize(Weight w, int groupSize, Arena arena) {
        int rows = w.rows();
        int cols = w.cols();
        long rowBytes = WeightFormat.Int4Grouped.rowBytes(cols);
        int groups = (cols + groupSize - 1) / groupSize;
        MemorySegment q = arena.allocate(rows * rowBytes, 64);
        MemorySegment scales = arena.allocate((long) rows * groups * Float.BYTES, 64);
        float[] row = new float[cols];
        int[] levels = new int[cols];
        for (int r = 0; r < rows; r++) {
            w.copyRow(r, row, 0);
            for (int g = 0; g < groups; g++) {
                int from = g * groupSize;
                int to = Math.min(cols, from + groupSize);
                float scale = groupScale(row, from, to);
                for (int c = from; c < to; c++) {
                    // An all-zero group keeps scale 0 and q 0: dividing by its scale would give NaN.
                    levels[c] = scale == 0 ? 0 : Math.clamp(Math.round(row[c] / scale), -Q_MAX, Q_MAX);
                }
                scales.setAtIndex(Weight.F32, (long) r * groups + g, scale);
            }
            for (int c = 0; c < cols; c += 2) {
                int low = levels[c] + NIBBLE_BIAS;
                // An odd last column leaves the high nibble of the row's last byte as 0, which no element reads.
                int high = c + 1 < cols ? levels[c + 1] + NIBBLE_BIAS : 0;
                q.set(ValueLayout.JAVA_BYTE, r * rowBytes + c / 2, (byte) (low | high << 4));
            }
        }
        return new Weight(w.name(), q, new WeightFormat.Int4Grouped(groupSize, scales), rows, cols);
    }

    private static float groupScale(float[] row, int from, int to) {
        float maxAbs = 0;
        for (int c = from; c < to; c++) {
            maxAbs = Math.max(maxAbs, Math.abs(row[c]));
        }
        return maxAbs / Q_MAX;
    }
}
