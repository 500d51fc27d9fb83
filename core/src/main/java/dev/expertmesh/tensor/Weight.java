package dev.expertmesh.tensor;

import dev.expertmesh.checkpoint.DType;
import dev.expertmesh.checkpoint.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A row-major weight matrix [rows, cols] off the Java heap (usually a mapped checkpoint region, or
 * quantized bytes in an arena), stored in {@code format}. A linear layer y = x·Wᵀ reads W as stored
 * by PyTorch: [out, in].
 */
public record Weight(String name, MemorySegment data, WeightFormat format, int rows, int cols) {
    public static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public Weight {
        if (data.byteSize() != (long) rows * cols * format.elementBytes()) {
            throw new IllegalArgumentException(name + ": " + data.byteSize() + " bytes do not hold [" + rows + ", " + cols + "] "
                    + format.getClass().getSimpleName());
        }
        if (format instanceof WeightFormat.Int8PerChannel(MemorySegment scales) && scales.byteSize() != (long) rows * Float.BYTES) {
            throw new IllegalArgumentException(name + ": " + scales.byteSize() + " bytes of scales for " + rows + " rows");
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

    /** Rows [start, start + count) as a weight of their own, sharing this one's memory. */
    public Weight rowSlice(int start, int count) {
        long rowBytes = (long) cols * format.elementBytes();
        WeightFormat sliced = switch (format) {
            case WeightFormat.Int8PerChannel(MemorySegment scales) ->
                    new WeightFormat.Int8PerChannel(scales.asSlice((long) start * Float.BYTES, (long) count * Float.BYTES));
            case WeightFormat.Bf16 b -> b;
            case WeightFormat.F32 f -> f;
        };
        return new Weight(name + "[" + start + ":" + (start + count) + "]",
                data.asSlice(start * rowBytes, count * rowBytes), sliced, count, cols);
    }

    /** Element (row, col) as a float: widened, or dequantized with its row's scale. */
    public float get(int row, int col) {
        long index = (long) row * cols + col;
        return switch (format) {
            case WeightFormat.Bf16 b -> bf16ToFloat(data.getAtIndex(BF16, index));
            case WeightFormat.F32 f -> data.getAtIndex(F32, index);
            case WeightFormat.Int8PerChannel q -> q.scale(row) * data.get(ValueLayout.JAVA_BYTE, index);
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
