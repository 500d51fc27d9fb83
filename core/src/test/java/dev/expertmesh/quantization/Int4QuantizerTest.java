package dev.expertmesh.quantization;

import dev.expertmesh.checkpoint.DType;
import dev.expertmesh.tensor.Weight;
import dev.expertmesh.tensor.WeightFormat;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class Int4QuantizerTest {
    private final Random random = new Random(91);

    private Weight randomF32(int rows, int cols, Arena arena) {
        MemorySegment data = arena.allocate((long) rows * cols * Float.BYTES, 64);
        for (int i = 0; i < rows * cols; i++) {
            // Groups of very different magnitudes along a row: one scale per group must follow each.
            data.setAtIndex(Weight.F32, i, (float) (random.nextGaussian() * Math.pow(10, i % cols / 40 % 4 - 2)));
        }
        return new Weight("w", data, DType.F32, rows, cols);
    }

    @ParameterizedTest(name = "group {0}")
    @ValueSource(ints = {64, 128})
    void dequantizedElementsAreWithinHalfTheirGroupsScale(int groupSize) {
        try (Arena arena = Arena.ofConfined()) {
            // 301 columns: a short last group and an odd last byte.
            int rows = 9;
            int cols = 301;
            Weight w = randomF32(rows, cols, arena);
            Weight q = Int4Quantizer.quantize(w, groupSize, arena);
            WeightFormat.Int4Grouped format = (WeightFormat.Int4Grouped) q.format();

            assertThat(q.data().byteSize()).isEqualTo(rows * ((cols + 1) / 2L));
            for (int r = 0; r < rows; r++) {
                for (int g = 0; g < format.groupsPerRow(cols); g++) {
                    float scale = format.scale(r, g, cols);
                    float maxAbs = 0;
                    for (int c = g * groupSize; c < Math.min(cols, (g + 1) * groupSize); c++) {
                        float original = w.get(r, c);
                        maxAbs = Math.max(maxAbs, Math.abs(original));
                        // Half a step, plus the rounding of the float division and product.
                        assertThat((double) Math.abs(original - q.get(r, c))).as("row %d col %d", r, c)
                                .isLessThanOrEqualTo(scale / 2 + Math.ulp(maxAbs));
                    }
                    assertThat(scale).as("row %d group %d scale", r, g).isEqualTo(maxAbs / Int4Quantizer.Q_MAX);
                }
            }
        }
    }

    @Test
    void theEvenColumnIsTheLowNibbleStoredPlusEight() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(3 * Float.BYTES);
            data.setAtIndex(Weight.F32, 0, -7f);
            data.setAtIndex(Weight.F32, 1, 7f);
            data.setAtIndex(Weight.F32, 2, 2f);
            Weight q = Int4Quantizer.quantize(new Weight("w", data, DType.F32, 1, 3), 64, arena);

            assertThat(((WeightFormat.Int4Grouped) q.format()).scale(0, 0, 3)).isEqualTo(1f);
            assertThat(q.data().get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) (1 | 15 << 4));
            assertThat(q.data().get(ValueLayout.JAVA_BYTE, 1) & 0xF).isEqualTo(10);
        }
    }

    @Test
    void anAllZeroGroupStaysZero() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(2 * 100 * Float.BYTES);
            for (int c = 64; c < 100; c++) {
                data.setAtIndex(Weight.F32, 100 + c, c);
            }
            Weight q = Int4Quantizer.quantize(new Weight("w", data, DType.F32, 2, 100), 64, arena);
            for (int c = 0; c < 64; c++) {
                assertThat(q.get(1, c)).isZero();
                assertThat(q.get(0, c)).isZero();
            }
            assertThat(q.get(1, 99)).isEqualTo(99f);
        }
    }
}
