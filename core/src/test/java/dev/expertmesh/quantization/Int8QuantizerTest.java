package dev.expertmesh.quantization;

import dev.expertmesh.checkpoint.DType;
import dev.expertmesh.tensor.Weight;
import dev.expertmesh.tensor.WeightFormat;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class Int8QuantizerTest {
    private final Random random = new Random(77);

    private Weight randomF32(int rows, int cols, Arena arena) {
        MemorySegment data = arena.allocate((long) rows * cols * Float.BYTES, 64);
        for (int i = 0; i < rows * cols; i++) {
            // Rows of very different magnitudes: one scale per row must follow each.
            data.setAtIndex(Weight.F32, i, (float) (random.nextGaussian() * Math.pow(10, i / cols % 5 - 2)));
        }
        return new Weight("w", data, DType.F32, rows, cols);
    }

    @Test
    void dequantizedElementsAreWithinHalfTheirRowsScale() {
        try (Arena arena = Arena.ofConfined()) {
            int rows = 23;
            int cols = 37;
            Weight w = randomF32(rows, cols, arena);
            Weight q = Int8Quantizer.quantize(w, arena);
            WeightFormat.Int8PerChannel format = (WeightFormat.Int8PerChannel) q.format();

            assertThat(q.data().byteSize()).isEqualTo((long) rows * cols);
            for (int r = 0; r < rows; r++) {
                float scale = format.scale(r);
                float maxAbs = 0;
                int maxLevel = 0;
                for (int c = 0; c < cols; c++) {
                    float original = w.get(r, c);
                    maxAbs = Math.max(maxAbs, Math.abs(original));
                    maxLevel = Math.max(maxLevel, Math.abs(q.data().get(ValueLayout.JAVA_BYTE, (long) r * cols + c)));
                    // Half a step, plus the rounding of the float division and product.
                    assertThat((double) Math.abs(original - q.get(r, c))).as("row %d col %d", r, c)
                            .isLessThanOrEqualTo(scale / 2 + Math.ulp(maxAbs));
                }
                assertThat(scale).as("row %d scale", r).isEqualTo(maxAbs / Int8Quantizer.Q_MAX);
                assertThat(maxLevel).as("row %d uses the full range", r).isEqualTo(Int8Quantizer.Q_MAX);
            }
        }
    }

    @Test
    void anAllZeroRowStaysZero() {
        try (Arena arena = Arena.ofConfined()) {
            Weight zeros = new Weight("zeros", arena.allocate(2 * 5 * Float.BYTES), DType.F32, 2, 5);
            Weight q = Int8Quantizer.quantize(zeros, arena);
            for (int c = 0; c < 5; c++) {
                assertThat(q.get(1, c)).isZero();
            }
        }
    }

    @Test
    void aRowSliceKeepsItsRowsScales() {
        try (Arena arena = Arena.ofConfined()) {
            Weight q = Int8Quantizer.quantize(randomF32(10, 9, arena), arena);
            Weight slice = q.rowSlice(4, 3);
            for (int r = 0; r < 3; r++) {
                for (int c = 0; c < 9; c++) {
                    assertThat(slice.get(r, c)).isEqualTo(q.get(4 + r, c));
                }
            }
        }
    }

    @Test
    void anUnknownQuantizationNamesTheChoices() {
        assertThat(Quantization.parse("INT8")).isEqualTo(Quantization.INT8);
        assertThatThrownBy(() -> Quantization.parse("int9"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--quantize int9: choose one of none, int8, int4-g64, int4-g128, fp8");
    }
}
