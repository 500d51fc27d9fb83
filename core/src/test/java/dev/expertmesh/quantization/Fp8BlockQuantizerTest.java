package dev.expertmesh.quantization;

import dev.expertmesh.checkpoint.DType;
import dev.expertmesh.tensor.E4m3;
import dev.expertmesh.tensor.Weight;
import dev.expertmesh.tensor.WeightFormat;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class Fp8BlockQuantizerTest {
    private final Random random = new Random(53);

    private Weight randomF32(int rows, int cols, Arena arena) {
        MemorySegment data = arena.allocate((long) rows * cols * Float.BYTES, 64);
        for (int i = 0; i < rows * cols; i++) {
            // Blocks of very different magnitudes: one scale per block must follow each.
            int blockRow = i / cols / 128;
            int blockCol = i % cols / 128;
            data.setAtIndex(Weight.F32, i, (float) (random.nextGaussian() * Math.pow(10, (blockRow + 2 * blockCol) % 5 - 2)));
        }
        return new Weight("w", data, DType.F32, rows, cols);
    }

    @Test
    void dequantizedElementsAreWithinE4m3sRelativeErrorOfTheirBlock() {
        try (Arena arena = Arena.ofConfined()) {
            // 300 x 200: partial blocks at the bottom and on the right.
            int rows = 300;
            int cols = 200;
            Weight w = randomF32(rows, cols, arena);
            Weight q = Fp8BlockQuantizer.quantize(w, arena);
            WeightFormat.Fp8Block format = (WeightFormat.Fp8Block) q.format();

            assertThat(q.data().byteSize()).isEqualTo((long) rows * cols);
            assertThat(format.scaleBytes()).isEqualTo(3 * 2 * Float.BYTES);
            float[][] blockMax = new float[3][2];
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    float original = w.get(r, c);
                    float scale = format.scale(r, c, cols);
                    blockMax[r / 128][c / 128] = Math.max(blockMax[r / 128][c / 128], Math.abs(original));
                    // Three mantissa bits: half a step is 2^-4 of the value for normal e4m3 values; below
                    // 2^-6 (subnormals) the step is 2^-9 of the scale. Plus the float division's rounding.
                    double bound = Math.max(Math.abs(original) * 0x1p-4, scale * 0x1p-10) + Math.ulp(original);
                    assertThat((double) Math.abs(original - q.get(r, c))).as("row %d col %d", r, c).isLessThanOrEqualTo(bound);
                }
            }
            for (int br = 0; br < 3; br++) {
                for (int bc = 0; bc < 2; bc++) {
                    assertThat(format.scale(br * 128, bc * 128, cols)).as("block %d, %d", br, bc).isEqualTo(blockMax[br][bc] / E4m3.MAX);
                }
            }
        }
    }

    @Test
    void anAllZeroBlockStaysZero() {
        try (Arena arena = Arena.ofConfined()) {
            int cols = 130;
            MemorySegment data = arena.allocate(3L * cols * Float.BYTES);
            data.setAtIndex(Weight.F32, 2L * cols + 129, 5f);
            Weight q = Fp8BlockQuantizer.quantize(new Weight("w", data, DType.F32, 3, cols), arena);
            for (int r = 0; r < 3; r++) {
                for (int c = 0; c < 128; c++) {
                    assertThat(q.get(r, c)).isZero();
                }
            }
            assertThat(q.get(2, 129)).isEqualTo(5f);
            assertThat(q.get(0, 129)).isZero();
        }
    }

    @Test
    void aWeightAlreadyInTheFormatIsKeptAndOthersAreRequantizedFromTheirValues() {
        try (Arena arena = Arena.ofConfined()) {
            Weight fp8 = Fp8BlockQuantizer.quantize(randomF32(20, 140, arena), arena);
            assertThat(Quantization.FP8.apply(fp8, arena)).isSameAs(fp8);
            assertThat(Quantization.NONE.apply(fp8, arena)).isSameAs(fp8);

            Weight int8 = Quantization.INT8.apply(fp8, arena);
            Weight direct = Int8Quantizer.quantize(new Weight("w", dequantized(fp8, arena), DType.F32, 20, 140), arena);
            assertThat(int8.format()).isInstanceOf(WeightFormat.Int8PerChannel.class);
            for (int r = 0; r < 20; r++) {
                for (int c = 0; c < 140; c++) {
                    assertThat(int8.get(r, c)).isEqualTo(direct.get(r, c));
                }
            }
        }
    }

    private static MemorySegment dequantized(Weight w, Arena arena) {
        MemorySegment out = arena.allocate((long) w.rows() * w.cols() * Float.BYTES);
        for (int r = 0; r < w.rows(); r++) {
            for (int c = 0; c < w.cols(); c++) {
                out.setAtIndex(Weight.F32, (long) r * w.cols() + c, w.get(r, c));
            }
        }
        return out;
    }
}
