package dev.expertmesh.cuda.runtime;

import dev.expertmesh.Fixtures;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.DType;
import dev.expertmesh.cuda.GpuComparison;
import dev.expertmesh.quantization.Int8Quantizer;
import dev.expertmesh.tensor.E4m3;
import dev.expertmesh.tensor.Weight;
import dev.expertmesh.tensor.WeightFormat;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.function.BiFunction;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * quantized_linear.cu's kernels, through {@link GpuQueue#linear}, against the CPU backend's product
 * with the same packed weight: odd shapes (a short last INT4 group, a half-used last byte, partial FP8
 * blocks), one row and batches past a kernel pass, output rows with a gap between them, and FP8
 * row slices that start inside a block. Needs a CUDA device (or EmulatedGpu).
 */
@Tag("gpu")
class QuantizedLinearTest {
    private static final int ROWS = 37;
    private static final int COLS = 203;
    private static final int[] BATCHES = {1, 3, 11};
    /** Both sides multiply the same dequantized values by the same bf16 inputs: only fp32 summation order differs. */
    private static final double TOLERANCE = 1e-5;
    private final Random random = new Random(14);
    // Weights live in shared arenas: the CPU backend splits large products over threads.

    @Test
    void int8MatchesTheCpuBackend() {
        try (Arena arena = Arena.ofShared()) {
            assertMatches(Int8Quantizer.quantize(gaussianBf16(ROWS, COLS, arena), arena));
        }
    }

    @Test
    void int4InGroupsOf64And128MatchesTheCpuBackend() {
        try (Arena arena = Arena.ofShared()) {
            for (int group : new int[]{64, 128}) {
                assertMatches(int4(ROWS, COLS, group, arena));
            }
        }
    }

    @Test
    void fp8In128By128BlocksMatchesTheCpuBackendWholeAndSlicedInsideABlock() {
        try (Arena arena = Arena.ofShared()) {
            Weight w = fp8(300, COLS, 128, 128, arena);
            assertMatches(w);
            Weight sliced = w.rowSlice(100, 150);
            assertThat(((WeightFormat.Fp8Block) sliced.format()).rowOffset()).isEqualTo(100);
            assertMatches(sliced);
        }
    }

    @Test
    void anFp8WeightUploadedAsBf16MultipliesAsItsDequantizationRoundedToBf16() {
        try (Arena arena = Arena.ofShared()) {
            Weight fp8 = fp8(ROWS, COLS, 16, 32, arena).rowSlice(5, 30);
            MemorySegment rounded = arena.allocate((long) fp8.rows() * fp8.cols() * 2);
            for (int r = 0; r < fp8.rows(); r++) {
                for (int c = 0; c < fp8.cols(); c++) {
                    rounded.setAtIndex(Weight.BF16, (long) r * fp8.cols() + c, Bf16.round(fp8.get(r, c)));
                }
            }
            assertMatches(fp8, DeviceWeight::asBf16, new Weight("bf16", rounded, DType.BF16, fp8.rows(), fp8.cols()));
        }
    }

    private void assertMatches(Weight w) {
        assertMatches(w, DeviceWeight::upload, w);
    }

    /**
     * The GPU's out = x·Wᵀ for each batch, W put on the device by {@code upload}, against the CPU
     * backend's product with {@code host}; x holds bf16 values, as the kernels take it.
     */
    private void assertMatches(Weight w, BiFunction<Gpu, Weight, DeviceWeight> upload, Weight host) {
        GpuComparison.assumeAGpu();
        try (Gpu gpu = Gpu.open(0); GpuQueue queue = new GpuQueue(gpu)) {
            DeviceWeight device = upload.apply(gpu, w);
            int outStride = w.rows() + 5;
            for (int batch : BATCHES) {
                float[] x = bf16Gaussian(batch * w.cols());
                DeviceBuffer input = queue.upload("x", x);
                DeviceBuffer inputBf16 = queue.bf16s("x_bf16", x.length);
                queue.toBf16(input.address(), inputBf16.address(), x.length);
                DeviceBuffer out = queue.floats("out", (long) batch * outStride);
                queue.zero(out.address(), (long) batch * outStride * Float.BYTES);
                queue.linear(device, inputBf16.address(), w.cols(), batch, out.address(), outStride);
                float[] strided = queue.downloadFloats(out.address(), batch * outStride);
                float[] actual = new float[batch * w.rows()];
                for (int r = 0; r < batch; r++) {
                    System.arraycopy(strided, r * outStride, actual, r * w.rows(), w.rows());
                    assertThat(strided[r * outStride + w.rows()]).as("the gap after row %d", r).isZero();
                }
                float[] expected = new float[actual.length];
                new CpuBackend().matmul(host, x, batch, expected);
                assertThat(Fixtures.relativeError(actual, expected)).as("%s, batch %d", w.format(), batch).isLessThan(TOLERANCE);
            }
            device.free(gpu);
        }
    }

    /** INT4 as WeightFormat.Int4Grouped lays it out: levels -7..7 stored as q + 8, low nibble first. */
    private Weight int4(int rows, int cols, int group, Arena arena) {
        long rowBytes = WeightFormat.Int4Grouped.rowBytes(cols);
        MemorySegment q = arena.allocate(rows * rowBytes);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                long at = r * rowBytes + c / 2;
                int nibble = random.nextInt(15) + 1;
                int packed = q.get(ValueLayout.JAVA_BYTE, at);
                q.set(ValueLayout.JAVA_BYTE, at, (byte) (c % 2 == 0 ? packed | nibble : packed | nibble << 4));
            }
        }
        MemorySegment scales = scales((long) rows * ((cols + group - 1) / group), arena);
        return new Weight("int4", q, new WeightFormat.Int4Grouped(group, scales), rows, cols);
    }

    /** FP8 e4m3 of Gaussian values (NaN never occurs) with one scale per block. */
    private Weight fp8(int rows, int cols, int blockRows, int blockCols, Arena arena) {
        MemorySegment q = arena.allocate((long) rows * cols);
        for (long i = 0; i < (long) rows * cols; i++) {
            q.set(ValueLayout.JAVA_BYTE, i, E4m3.fromFloat((float) random.nextGaussian() * 100));
        }
        int blocks = ((rows + blockRows - 1) / blockRows) * ((cols + blockCols - 1) / blockCols);
        return new Weight("fp8", q, new WeightFormat.Fp8Block(blockRows, blockCols, 0, scales(blocks, arena)), rows, cols);
    }

    private MemorySegment scales(long count, Arena arena) {
        MemorySegment scales = arena.allocate(count * Float.BYTES);
        for (long i = 0; i < count; i++) {
            scales.setAtIndex(Weight.F32, i, 0.001f + random.nextFloat() * 0.01f);
        }
        return scales;
    }

    private Weight gaussianBf16(int rows, int cols, Arena arena) {
        MemorySegment data = arena.allocate((long) rows * cols * 2);
        for (long i = 0; i < (long) rows * cols; i++) {
            data.setAtIndex(Weight.BF16, i, Bf16.round((float) random.nextGaussian()));
        }
        return new Weight("bf16", data, DType.BF16, rows, cols);
    }

    /** Gaussian values already in bf16, so that rounding on the device changes nothing. */
    private float[] bf16Gaussian(int n) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = Weight.bf16ToFloat(Bf16.round((float) random.nextGaussian()));
        }
        return values;
    }
}
