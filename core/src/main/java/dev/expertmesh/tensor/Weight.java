package dev.expertmesh.tensor;

import dev.expertmesh.checkpoint.CheckpointException;
import dev.expertmesh.checkpoint.DType;
import dev.expertmesh.checkpoint.Tensor;
import dev.expertmesh.checkpoint.TensorSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A row-major weight matrix [rows, cols] off the Java heap (usually a mapped checkpoint region, or
 * quantized bytes in an arena), stored in {@code format}. A linear layer y = x·Wᵀ reads W as stored
 * by PyTorch: [out, in].
 */
public record Weight(String name, MemorySegment data, WeightFormat format, int rows, int cols) {
    public static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Rows and columns of the blocks an F8_E4M3 checkpoint weight shares a scale over. */
    public static final int FP8_BLOCK = 128;
    /** What the name of an F8_E4M3 weight's block scales adds to the weight's. */
    public static final String FP8_SCALE_SUFFIX = "_scale_inv";

    public Weight {
        if (data.byteSize() != format.byteSize(rows, cols)) {
            throw new IllegalArgumentException(name + ": " + data.byteSize() + " bytes do not hold [" + rows + ", " + cols + "] "
                    + format.getClass().getSimpleName());
        }
        long scaleBytes = switch (format) {
            case WeightFormat.Bf16 b -> 0;
            case WeightFormat.F32 f -> 0;
            case WeightFormat.Int8PerChannel q -> (long) rows * Float.BYTES;
            case WeightFormat.Int4Grouped q -> (long) rows * q.groupsPerRow(cols) * Float.BYTES;
            case WeightFormat.Fp8Block q -> (long) q.blockRowCount(rows) * q.blocksPerRow(cols) * Float.BYTES;
        };
        if (format.scaleBytes() != scaleBytes) {
            throw new IllegalArgumentException(name + ": " + format.scaleBytes() + " bytes of scales for [" + rows + ", " + cols
                    + "] " + format.getClass().getSimpleName() + ", expected " + scaleBytes);
        }
    }

    /** A BF16 or F32 matrix stored as the checkpoint has it. */
    public Weight(String name, MemorySegment data, DType dtype, int rows, int cols) {
        this(name, data, formatOf(name, dtype), rows, cols);
    }

    private static WeightFormat formatOf(String name, DType dtype) {
        try {
            return WeightFormat.of(dtype);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
        }
    }

    /**
     * A 2-D checkpoint tensor as a weight. BF16 and F32 are used in place; F16 is widened once to an
     * off-heap F32 copy in {@code arena}, since the kernels stream BF16 or F32.
     */
    public static Weight of(Tensor tensor, Arena arena) {
        long[] shape = tensor.shape();
        if (shape.length != 2) {
            throw new IllegalArgumentException(tensor.name() + ": expected a matrix, got shape " + tensor.info().shapeString());
        }
        int rows = Math.toIntExact(shape[0]);
        int cols = Math.toIntExact(shape[1]);
        return switch (tensor.dtype()) {
            case BF16, F32 -> new Weight(tensor.name(), tensor.data(), tensor.dtype(), rows, cols);
            case F16 -> {
                MemorySegment f32 = arena.allocate((long) rows * cols * Float.BYTES, 64);
                for (long i = 0; i < (long) rows * cols; i++) {
                    f32.setAtIndex(F32, i, Float.float16ToFloat(tensor.data().getAtIndex(BF16, i)));
                }
                yield new Weight(tensor.name(), f32, DType.F32, rows, cols);
            }
            default -> throw new IllegalArgumentException(tensor.name() + ": " + tensor.dtype() + " is not a floating-point weight");
        };
    }

    /**
     * The [rows, cols] matrix {@code name} of a linear layer, the one way core loads a matrix. An
     * F8_E4M3 tensor (DeepSeek-V3's published weights) is used as it is, with its companion
     * {@code <name>_scale_inv}: F32 scales [ceil(rows / 128), ceil(cols / 128)], one per 128 × 128
     * block, the only weight_block_size DeepSeek publishes. Other dtypes go through {@link #of}.
     */
    public static Weight load(TensorSource weights, String name, long rows, long cols, Arena arena) {
        Tensor tensor = weights.tensor(name, rows, cols);
        if (tensor.dtype() != DType.F8_E4M3) {
            return of(tensor, arena);
        }
        String scaleName = name + FP8_SCALE_SUFFIX;
        long[] scaleShape = {ceilDiv(rows, FP8_BLOCK), ceilDiv(cols, FP8_BLOCK)};
        Tensor scales;
        try {
            scales = weights.tensor(scaleName, scaleShape);
        } catch (CheckpointException e) {
            throw new CheckpointException(name + " is F8_E4M3 and needs its " + FP8_BLOCK + " x " + FP8_BLOCK + " block scales "
                    + scaleName + " (F32 " + Arrays.toString(scaleShape) + "): " + e.getMessage(), e);
        }
        if (scales.dtype() != DType.F32) {
            throw new CheckpointException(scaleName + ": the block scales of an F8_E4M3 weight are F32, not " + scales.dtype());
        }
        return new Weight(name, tensor.data(), new WeightFormat.Fp8Block(FP8_BLOCK, FP8_BLOCK, 0, scales.data()),
                (int) rows, (int) cols);
    }

    private static long ceilDiv(long n, long d) {
        return (n + d - 1) / d;
    }

    /** Rows [start, start + count) as a weight of their own, sharing this one's memory. */
    public Weight rowSlice(int start, int count) {
        long rowBytes = format.byteSize(1, cols);
        WeightFormat sliced = switch (format) {
            case WeightFormat.Bf16 b -> b;
            case WeightFormat.F32 f -> f;
            case WeightFormat.Int8PerChannel(MemorySegment scales) ->
                    new WeightFormat.Int8PerChannel(scales.asSlice((long) start * Float.BYTES, (long) count * Float.BYTES));
            case WeightFormat.Int4Grouped q -> {
                long rowScaleBytes = (long) q.groupsPerRow(cols) * Float.BYTES;
                yield new WeightFormat.Int4Grouped(q.groupSize(), q.scales().asSlice(start * rowScaleBytes, count * rowScaleBytes));
            }
            case WeightFormat.Fp8Block q -> {
                int first = q.rowOffset() + start;
                WeightFormat.Fp8Block shifted = new WeightFormat.Fp8Block(q.blockRows(), q.blockCols(), first % q.blockRows(), q.scales());
                long blockRowBytes = (long) q.blocksPerRow(cols) * Float.BYTES;
                yield new WeightFormat.Fp8Block(q.blockRows(), q.blockCols(), shifted.rowOffset(),
                        q.scales().asSlice(first / q.blockRows() * blockRowBytes, shifted.blockRowCount(count) * blockRowBytes));
            }
        };
        return new Weight(name + "[" + start + ":" + (start + count) + "]",
                data.asSlice(start * rowBytes, count * rowBytes), sliced, count, cols);
    }

    /** Element (row, col) as a float: widened, or dequantized with its scale. */
    public float get(int row, int col) {
        long index = (long) row * cols + col;
        return switch (format) {
            case WeightFormat.Bf16 b -> bf16ToFloat(data.getAtIndex(BF16, index));
            case WeightFormat.F32 f -> data.getAtIndex(F32, index);
            case WeightFormat.Int8PerChannel q -> q.scale(row) * data.get(ValueLayout.JAVA_BYTE, index);
            case WeightFormat.Int4Grouped q -> {
                int packed = data.get(ValueLayout.JAVA_BYTE, row * WeightFormat.Int4Grouped.rowBytes(cols) + col / 2);
                int nibble = (col % 2 == 0 ? packed : packed >> 4) & 0xF;
                yield q.scale(row, col / q.groupSize(), cols) * (nibble - 8);
            }
            case WeightFormat.Fp8Block q -> q.scale(row, col, cols) * E4m3.toFloat(data.get(ValueLayout.JAVA_BYTE, index));
        };
    }

    /** Copies one row, widened to float, into {@code out} at {@code offset}. */
    public void copyRow(int row, float[] out, int offset) {
        for (int c = 0; c < cols; c++) {
            out[offset + c] = get(row, c);
        }
    }

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    /** A 1-D float tensor (a norm's gain, a router bias) as a float array: these are small. */
    public static float[] toFloats(Tensor tensor) {
        int n = Math.toIntExact(tensor.info().elementCount());
        float[] out = new float[n];
        MemorySegment d = tensor.data();
        for (int i = 0; i < n; i++) {
            out[i] = switch (tensor.dtype()) {
                case BF16 -> bf16ToFloat(d.getAtIndex(BF16, i));
                case F16 -> Float.float16ToFloat(d.getAtIndex(BF16, i));
                case F32 -> d.getAtIndex(F32, i);
                default -> throw new IllegalArgumentException(tensor.name() + ": " + tensor.dtype() + " is not a floating-point tensor");
            };
        }
        return out;
    }
}
