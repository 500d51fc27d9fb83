package dev.expertmesh.quantization;

import dev.expertmesh.tensor.E4m3;
import dev.expertmesh.tensor.Weight;
import dev.expertmesh.tensor.WeightFormat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * FP8 e4m3 with one fp32 scale per 128 × 128 block, as DeepSeek-V3 publishes its weights: each block
 * gets s = max |W| / 448 (e4m3's largest value) and every element becomes e4m3(W / s), rounded to
 * nearest even. The scales are what the checkpoint calls {@code weight_scale_inv}.
 */
public final class Fp8BlockQuantizer {
    private static final int BLOCK = Weight.FP8_BLOCK;

    private Fp8BlockQuantizer() {
    }

    /** {@code w} quantized into {@code arena} in 128 × 128 blocks. */
    public static Weight quantize(Weight w, Arena arena) {
        int rows = w.rows();
        int cols = w.cols();
        int blockRows = (rows + BLOCK - 1) / BLOCK;
        int blockCols = (cols + BLOCK - 1) / BLOCK;
        MemorySegment q = arena.allocate((long) rows * cols, 64);
        MemorySegment scales = arena.allocate((long) blockRows * blockCols * Float.BYTES, 64);
        float[] block = new float[BLOCK * cols];
        for (int br = 0; br < blockRows; br++) {
            int firstRow = br * BLOCK;
            int height = Math.min(BLOCK, rows - firstRow);
            for (int r = 0; r < height; r++) {
                w.copyRow(firstRow + r, block, r * cols);
            }
            for (int bc = 0; bc < blockCols; bc++) {
                int from = bc * BLOCK;
                int to = Math.min(cols, from + BLOCK);
                float scale = blockMaxAbs(block, cols, height, from, to) / E4m3.MAX;
                scales.setAtIndex(Weight.F32, (long) br * blockCols + bc, scale);
                for (int r = 0; r < height; r++) {
                    for (int c = from; c < to; c++) {
                        // An all-zero block keeps scale 0 and codes 0: dividing by its scale would give NaN.
                        float v = scale == 0 ? 0 : block[r * cols + c] / scale;
                        q.set(ValueLayout.JAVA_BYTE, (long) (firstRow + r) * cols + c, E4m3.fromFloat(v));
                    }
                }
            }
        }
        return new Weight(w.name(), q, new WeightFormat.Fp8Block(BLOCK, BLOCK, 0, scales), rows, cols);
    }

    private static float blockMaxAbs(float[] block, int cols, int height, int from, int to) {
        float maxAbs = 0;
        for (int r = 0; r < height; r++) {
            for (int c = from; c < to; c++) {
                maxAbs = Math.max(maxAbs, Math.abs(block[r * cols + c]));
            }
        }
        return maxAbs;
    }
}
