package dev.expertmesh.backend;

import dev.expertmesh.checkpoint.DType;
import dev.expertmesh.quantization.Int8Quantizer;
import dev.expertmesh.quantization.Quantization;
import dev.expertmesh.tensor.Weight;
import dev.expertmesh.tensor.WeightFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class CpuBackendTest {
    private final CpuBackend backend = new CpuBackend();
    private final Random random = new Random(1234);

    private float[] randomFloats(int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (random.nextGaussian());
        }
        return x;
    }

    /** A random [rows, cols] weight off the heap; {@code exact} receives each element's value as a double. */
    private Weight randomWeight(DType dtype, int rows, int cols, double[] exact) {
        MemorySegment data = Arena.ofAuto().allocate((long) rows * cols * dtype.byteSize(), 64);
        for (int i = 0; i < rows * cols; i++) {
            float v = (float) random.nextGaussian();
            if (dtype == DType.BF16) {
                short bits = (short) (Float.floatToRawIntBits(v) >>> 16);
                data.setAtIndex(Weight.BF16, i, bits);
                exact[i] = Float.intBitsToFloat((bits & 0xFFFF) << 16);
            } else {
                data.setAtIndex(Weight.F32, i, v);
                exact[i] = v;
            }
        }
        return new Weight("w", data, dtype, rows, cols);
    }

    static Stream<Arguments> matmulShapes() {
        // 13, 14 and 15 rows leave 1, 2 and 0 rows past the last whole tile of 3; batches leave 0 to 3 tokens past one of 4 (2 and 3 take the pair tile).
        return Stream.of(DType.BF16, DType.F32).flatMap(dtype -> Stream.of(1, 2, 3, 4, 5, 7, 9).flatMap(batch ->
                Stream.of(7, 16, 33, 100).flatMap(cols -> Stream.of(13, 14, 15).map(rows -> Arguments.of(dtype, batch, cols, rows)))));
    }

    static Stream<Arguments> parallelMatmulShapes() {
        // rows·cols·batch >= 65536: split over the fork-join pool.
        return Stream.of(DType.BF16, DType.F32).flatMap(dtype -> Stream.of(
                Arguments.of(dtype, 1, 100, 700),
                Arguments.of(dtype, 5, 33, 400),
                Arguments.of(dtype, 9, 129, 61),
                Arguments.of(dtype, 32, 64, 602)));
    }

    @ParameterizedTest(name = "{0} batch {1} cols {2} rows {3}")
    @MethodSource({"matmulShapes", "parallelMatmulShapes"})
    void matmulMatchesDoublePrecisionReference(DType dtype, int batch, int cols, int rows) {
        double[] w = new double[rows * cols];
        Weight weight = randomWeight(dtype, rows, cols, w);
        int xOffset = 3;
        int outOffset = 5;
        float[] x = randomFloats(xOffset + batch * cols + 2);
        float[] out = new float[outOffset + batch * rows + 4];
        Arrays.fill(out, 99f);

        backend.matmul(weight, x, xOffset, batch, out, outOffset);

        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < rows; r++) {
                double sum = 0;
                double magnitude = 0;
                for (int c = 0; c < cols; c++) {
                    double term = w[r * cols + c] * x[xOffset + b * cols + c];
                    sum += term;
                    magnitude += Math.abs(term);
                }
                assertThat((double) out[outOffset + b * rows + r]).as("batch %d row %d", b, r)
                        .isCloseTo(sum, within(1e-6 * magnitude + 1e-30));
            }
        }
        assertThat(Arrays.copyOfRange(out, 0, outOffset)).as("before outOffset untouched").containsOnly(99f);
        assertThat(Arrays.copyOfRange(out, outOffset + batch * rows, out.length)).as("after the output untouched").containsOnly(99f);
        for (int b = 0; b < batch; b++) {
            float[] alone = new float[rows];
            backend.matmul(weight, x, xOffset + b * cols, 1, alone, 0);
            assertThat(Arrays.copyOfRange(out, outOffset + b * rows, outOffset + (b + 1) * rows))
                    .as("token %d does not depend on the batch", b).containsExactly(alone);
        }
    }

    static Stream<Arguments> int8Shapes() {
        // Odd column counts leave a vector tail and a scalar tail; 700 rows by 100 columns runs in parallel.
        return Stream.of(1, 2, 3, 4, 5, 7, 9).flatMap(batch -> Stream.of(
                Arguments.of(batch, 7, 13), Arguments.of(batch, 33, 13), Arguments.of(batch, 100, 700), Arguments.of(batch, 129, 61)));
    }

    @ParameterizedTest(name = "batch {0} cols {1} rows {2}")
    @MethodSource("int8Shapes")
    void int8MatmulIsTheRowScaleTimesTheDotProductOfTheStoredBytes(int batch, int cols, int rows) {
        Weight weight = Int8Quantizer.quantize(randomWeight(DType.F32, rows, cols, new double[rows * cols]), Arena.ofAuto());
        WeightFormat.Int8PerChannel format = (WeightFormat.Int8PerChannel) weight.format();
        float[] x = randomFloats(batch * cols);
        float[] out = new float[batch * rows];

        backend.matmul(weight, x, batch, out);

        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < rows; r++) {
                double sum = 0;
                double magnitude = 0;
                for (int c = 0; c < cols; c++) {
                    double term = weight.data().get(ValueLayout.JAVA_BYTE, (long) r * cols + c) * (double) x[b * cols + c];
                    sum += term;
                    magnitude += Math.abs(term);
                }
                double expected = format.scale(r) * sum;
                assertThat((double) out[b * rows + r]).as("batch %d row %d", b, r)
                        .isCloseTo(expected, within(1e-5 * format.scale(r) * magnitude + 1e-30));
            }
        }
        float[] alone = new float[rows];
        backend.matmul(weight, x, (batch - 1) * cols, 1, alone, 0);
        assertThat(Arrays.copyOfRange(out, (batch - 1) * rows, batch * rows)).as("the last row does not depend on the batch")
                .containsExactly(alone);
    }

    static Stream<Arguments> quantizedShapes() {
        // Columns not a multiple of the vector length or of the group (16, 24, 33, 100, 129, 300);
        // 700 x 100 runs in parallel; 300 rows span three FP8 block rows.
        return Stream.of(Quantization.INT4_G64, Quantization.INT4_G128, Quantization.FP8, Quantization.INT8)
                .flatMap(q -> Stream.of(1, 4, 5, 9).flatMap(batch -> Stream.of(
                        Arguments.of(q, batch, 16, 13), Arguments.of(q, batch, 24, 7), Arguments.of(q, batch, 33, 13),
                        Arguments.of(q, batch, 100, 700), Arguments.of(q, batch, 129, 61), Arguments.of(q, batch, 300, 300))));
    }

    @ParameterizedTest(name = "{0} batch {1} cols {2} rows {3}")
    @MethodSource("quantizedShapes")
    void quantizedMatmulMatchesTheProductWithTheReferenceDequantization(Quantization q, int batch, int cols, int rows) {
        Weight weight = q.apply(randomWeight(DType.F32, rows, cols, new double[rows * cols]), Arena.ofAuto());
        assertMatmulMatchesReference(weight, batch);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Quantization.class, names = {"INT4_G64", "INT4_G128", "FP8", "INT8"})
    void quantizedRowSlicesInsideABlockMatchTheReference(Quantization q) {
        Weight whole = q.apply(randomWeight(DType.BF16, 300, 160, new double[300 * 160]), Arena.ofAuto());
        // Starts inside FP8 block row 0 and ends inside block row 2.
        Weight slice = whole.rowSlice(100, 170);
        for (int r = 0; r < slice.rows(); r += 17) {
            for (int c = 0; c < slice.cols(); c += 13) {
                assertThat(slice.get(r, c)).isEqualTo(whole.get(100 + r, c));
            }
        }
        assertMatmulMatchesReference(slice, 1);
        assertMatmulMatchesReference(slice, 5);
        assertTransposedMatchesReference(slice);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Quantization.class, names = {"INT4_G64", "INT4_G128", "FP8"})
    void quantizedMatmulTransposedMatchesTheReferenceDequantization(Quantization q) {
        for (int cols : new int[]{7, 16, 33, 100, 300}) {
            assertTransposedMatchesReference(q.apply(randomWeight(DType.BF16, 150, cols, new double[150 * cols]), Arena.ofAuto()));
        }
    }

    /** matmul against the double-precision product with Weight.get, and each token's row independent of its batch. */
    private void assertMatmulMatchesReference(Weight weight, int batch) {
        int rows = weight.rows();
        int cols = weight.cols();
        float[] x = randomFloats(2 + batch * cols);
        float[] out = new float[1 + batch * rows];
        backend.matmul(weight, x, 2, batch, out, 1);
        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < rows; r++) {
                double sum = 0;
                double magnitude = 0;
                for (int c = 0; c < cols; c++) {
                    double term = (double) weight.get(r, c) * x[2 + b * cols + c];
                    sum += term;
                    magnitude += Math.abs(term);
                }
                assertThat((double) out[1 + b * rows + r]).as("%s batch %d row %d", weight.name(), b, r)
                        .isCloseTo(sum, within(1e-5 * magnitude + 1e-30));
            }
        }
        for (int b = 0; b < batch; b++) {
            float[] alone = new float[rows];
            backend.matmul(weight, x, 2 + b * cols, 1, alone, 0);
            assertThat(Arrays.copyOfRange(out, 1 + b * rows, 1 + (b + 1) * rows)).as("token %d does not depend on the batch", b)
                    .containsExactly(alone);
        }
    }

    private void assertTransposedMatchesReference(Weight weight) {
        int rows = weight.rows();
        int cols = weight.cols();
        float[] x = randomFloats(rows + 2);
        float[] out = new float[cols + 4];
        Arrays.fill(out, 99f);
        backend.matmulTransposed(weight, x, 2, out, 3);
        for (int c = 0; c < cols; c++) {
            double sum = 0;
            double magnitude = 0;
            for (int r = 0; r < rows; r++) {
                double term = (double) x[2 + r] * weight.get(r, c);
                sum += term;
                magnitude += Math.abs(term);
            }
            assertThat((double) out[3 + c]).as("cols %d col %d", cols, c).isCloseTo(sum, within(1e-5 * magnitude + 1e-30));
        }
        assertThat(out[2]).isEqualTo(99f);
        assertThat(out[3 + cols]).isEqualTo(99f);
    }

    @Test
    void int8MatmulTransposedAppliesEachRowsScale() {
        int rows = 11;
        int cols = 37;
        Weight weight = Int8Quantizer.quantize(randomWeight(DType.BF16, rows, cols, new double[rows * cols]), Arena.ofAuto());
        float[] x = randomFloats(rows);
        float[] out = new float[cols];

        backend.matmulTransposed(weight, x, 0, out, 0);

        for (int c = 0; c < cols; c++) {
            double sum = 0;
            double magnitude = 0;
            for (int r = 0; r < rows; r++) {
                double term = (double) x[r] * weight.get(r, c);
                sum += term;
                magnitude += Math.abs(term);
            }
            assertThat((double) out[c]).as("col %d", c).isCloseTo(sum, within(1e-5 * magnitude));
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BF16", "F32"})
    void matmulTransposedMatchesDoublePrecisionReference(DType dtype) {
        for (int cols : new int[]{7, 16, 33, 100}) {
            int rows = 11;
            double[] w = new double[rows * cols];
            Weight weight = randomWeight(dtype, rows, cols, w);
            float[] x = randomFloats(rows + 2);
            float[] out = new float[cols + 4];
            Arrays.fill(out, 99f);

            backend.matmulTransposed(weight, x, 2, out, 3);

            for (int c = 0; c < cols; c++) {
                double sum = 0;
                double magnitude = 0;
                for (int r = 0; r < rows; r++) {
                    sum += x[2 + r] * w[r * cols + c];
                    magnitude += Math.abs(x[2 + r] * w[r * cols + c]);
                }
                assertThat((double) out[3 + c]).as("cols %d col %d", cols, c).isCloseTo(sum, within(1e-6 * magnitude));
            }
            assertThat(out[0]).isEqualTo(99f);
            assertThat(out[3 + cols]).isEqualTo(99f);
        }
    }

    @Test
    void rmsNormScalesByInverseRootMeanSquareTimesGain() {
        int n = 37;
        float[] x = randomFloats(n + 4);
        float[] gain = randomFloats(n);
        float eps = 1e-6f;
        float[] out = new float[n + 1];

        backend.rmsNorm(x, 4, gain, eps, out, 1);

        double meanSquare = 0;
        for (int i = 0; i < n; i++) {
            meanSquare += (double) x[4 + i] * x[4 + i];
        }
        double inverseRms = 1 / Math.sqrt(meanSquare / n + eps);
        for (int i = 0; i < n; i++) {
            double expected = gain[i] * x[4 + i] * inverseRms;
            assertThat((double) out[1 + i]).isCloseTo(expected, within(1e-6 * Math.abs(expected) + 1e-7));
        }
    }

    @Test
    void rmsNormWorksInPlace() {
        float[] x = {3, 4};
        backend.rmsNorm(x, 0, new float[]{1, 2}, 0f, x, 0);

        double rms = Math.sqrt((9 + 16) / 2.0);
        assertThat((double) x[0]).isCloseTo(3 / rms, within(1e-6));
        assertThat((double) x[1]).isCloseTo(2 * 4 / rms, within(1e-6));
    }

    @Test
    void siluMulIsGateTimesSigmoidOfGateTimesUp() {
        float[] gate = {-20f, -1.5f, 0f, 0.5f, 3f, 30f, -0.25f};
        float[] up = randomFloats(gate.length);
        float[] out = new float[gate.length];

        backend.siluMul(gate, up, out, gate.length);

        for (int i = 0; i < gate.length; i++) {
            double expected = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
            assertThat((double) out[i]).isCloseTo(expected, within(1e-6 * Math.abs(expected) + 1e-12));
        }
    }

    @Test
    void softmaxMatchesReferenceAndSumsToOne() {
        float[] x = randomFloats(20);
        float[] original = x.clone();

        backend.softmax(x, 2, 15);

        double sum = 0;
        for (int i = 2; i < 17; i++) {
            sum += Math.exp(original[i]);
        }
        double total = 0;
        for (int i = 2; i < 17; i++) {
            double expected = Math.exp(original[i]) / sum;
            assertThat((double) x[i]).isCloseTo(expected, within(1e-6 * expected));
            total += x[i];
        }
        assertThat(total).isCloseTo(1.0, within(1e-6));
        assertThat(x[0]).isEqualTo(original[0]);
        assertThat(x[17]).isEqualTo(original[17]);
    }

    @Test
    void softmaxOfLargeLogitsDoesNotOverflow() {
        float[] x = {1000f, 999f, 998f, -1000f};

        backend.softmax(x, 0, 4);

        double z = 1 + Math.exp(-1) + Math.exp(-2);
        assertThat((double) x[0]).isCloseTo(1 / z, within(1e-6));
        assertThat((double) x[1]).isCloseTo(Math.exp(-1) / z, within(1e-6));
        assertThat((double) x[2]).isCloseTo(Math.exp(-2) / z, within(1e-6));
        assertThat(x[3]).isZero();
    }

    @Test
    void dotMatchesDoublePrecisionReference() {
        for (int n : new int[]{0, 1, 7, 16, 33, 100}) {
            float[] a = randomFloats(n + 1);
            float[] b = randomFloats(n + 3);
            double expected = 0;
            double magnitude = 0;
            for (int i = 0; i < n; i++) {
                expected += (double) a[1 + i] * b[3 + i];
                magnitude += Math.abs((double) a[1 + i] * b[3 + i]);
            }
            assertThat((double) backend.dot(a, 1, b, 3, n)).as("n %d", n).isCloseTo(expected, within(1e-6 * magnitude));
        }
    }

    @Test
    void axpyAddsScaledVectorOnlyWithinRange() {
        for (int n : new int[]{1, 7, 16, 33}) {
            float[] x = randomFloats(n + 2);
            float[] y = randomFloats(n + 6);
            float[] before = y.clone();
            float alpha = -0.75f;

            backend.axpy(alpha, x, 2, y, 3, n);

            for (int i = 0; i < n; i++) {
                double expected = before[3 + i] + (double) alpha * x[2 + i];
                assertThat((double) y[3 + i]).isCloseTo(expected, within(1e-6 * (Math.abs(before[3 + i]) + Math.abs(x[2 + i]))));
            }
            assertThat(Arrays.copyOfRange(y, 0, 3)).containsExactly(Arrays.copyOfRange(before, 0, 3));
            assertThat(Arrays.copyOfRange(y, 3 + n, y.length)).containsExactly(Arrays.copyOfRange(before, 3 + n, y.length));
        }
    }

    @Test
    void applyRopeRotatesEachInterleavedPairByItsAngle() {
        int pairs = 5;
        double[] angles = {0, Math.PI / 2, 1.0, -2.5, 100.0};
        float[] cos = new float[pairs];
        float[] sin = new float[pairs];
        for (int i = 0; i < pairs; i++) {
            cos[i] = (float) Math.cos(angles[i]);
            sin[i] = (float) Math.sin(angles[i]);
        }
        float[] x = randomFloats(1 + 2 * pairs + 1);
        float[] original = x.clone();

        backend.applyRope(x, 1, cos, sin);

        for (int i = 0; i < pairs; i++) {
            double x0 = original[1 + 2 * i];
            double x1 = original[2 + 2 * i];
            assertThat((double) x[1 + 2 * i]).isCloseTo(x0 * Math.cos(angles[i]) - x1 * Math.sin(angles[i]), within(1e-6));
            assertThat((double) x[2 + 2 * i]).isCloseTo(x0 * Math.sin(angles[i]) + x1 * Math.cos(angles[i]), within(1e-6));
        }
        assertThat(x[0]).isEqualTo(original[0]);
        assertThat(x[x.length - 1]).isEqualTo(original[x.length - 1]);
    }

    @Test
    void topKReturnsLargestFirst() {
        float[] x = {9f, 0.5f, 3f, -1f, 7f, 2f, 8f};
        int[] out = new int[3];

        backend.topK(x, 1, 6, 3, out);

        assertThat(out).containsExactly(5, 3, 1);
    }

    @Test
    void topKBreaksTiesTowardTheLowerIndex() {
        float[] x = {1f, 5f, 2f, 5f, 5f, 2f};
        int[] out = new int[4];

        backend.topK(x, 0, 6, 4, out);

        assertThat(out).containsExactly(1, 3, 4, 2);
    }

    @Test
    void topKWithKEqualToNSortsEverything() {
        float[] x = randomFloats(40);
        int[] out = new int[40];

        backend.topK(x, 0, 40, 40, out);

        Integer[] expected = new Integer[40];
        Arrays.setAll(expected, i -> i);
        Arrays.sort(expected, (a, b) -> x[a] != x[b] ? Float.compare(x[b], x[a]) : Integer.compare(a, b));
        assertThat(out).containsExactly(Arrays.stream(expected).mapToInt(Integer::intValue).toArray());
    }

    @Test
    void topZeroWritesNothing() {
        int[] out = {-7};
        backend.topK(new float[] {1f, 2f}, 0, 2, 0, out);
        assertThat(out).containsExactly(-7);
    }

    @Test
    void topKRejectsKAboveN() {
        assertThatThrownBy(() -> backend.topK(new float[3], 0, 3, 4, new int[4]))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
