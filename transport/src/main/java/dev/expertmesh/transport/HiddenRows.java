package dev.expertmesh.transport;

import dev.expertmesh.proto.HiddenType;
import dev.expertmesh.tensor.Weight;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.vector.FixedSizeBinaryVector;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;

import java.lang.foreign.MemorySegment;

/**
 * Hidden vectors as a FixedSizeBinary column, one little-endian bf16 or fp32 row per value: the
 * rows are contiguous in the Arrow data buffer, which is read and written as a MemorySegment.
 */
public final class HiddenRows {
    public static final String FIELD = "hidden";

    private HiddenRows() {
    }

    public static Field field(int dim, HiddenType type) {
        return new Field(FIELD, FieldType.notNullable(new ArrowType.FixedSizeBinary(dim * bytesPerValue(type))), null);
    }

    public static int bytesPerValue(HiddenType type) {
        return switch (type) {
            case BF16 -> 2;
            case FP32 -> 4;
            case UNRECOGNIZED -> throw new IllegalArgumentException("unknown hidden type");
        };
    }

    /** The type whose rows of {@code dim} values are {@code byteWidth} bytes. */
    public static HiddenType typeOf(int byteWidth, int dim) {
        if (byteWidth == 2 * dim) {
            return HiddenType.BF16;
        }
        if (byteWidth == 4 * dim) {
            return HiddenType.FP32;
        }
        throw new IllegalArgumentException("hidden rows of " + byteWidth + " bytes are neither bf16 nor fp32 rows of " + dim + " values");
    }

    /** Writes rows {@code rows[i]} of {@code source} ([*, dim]) as the vector's values 0..rows.length-1. */
    public static void write(FixedSizeBinaryVector vector, float[] source, int[] rows, int dim) {
        HiddenType type = typeOf(vector.getByteWidth(), dim);
        ensureCapacity(vector, rows.length);
        MemorySegment data = segment(vector.getDataBuffer());
        for (int i = 0; i < rows.length; i++) {
            int from = rows[i] * dim;
            long at = (long) i * dim;
            if (type == HiddenType.BF16) {
                for (int c = 0; c < dim; c++) {
                    data.setAtIndex(Weight.BF16, at + c, toBf16(source[from + c]));
                }
            } else {
                for (int c = 0; c < dim; c++) {
                    data.setAtIndex(Weight.F32, at + c, source[from + c]);
                }
            }
            vector.setIndexDefined(i);
        }
        vector.setValueCount(rows.length);
    }

    /** Writes all rows of {@code source} ([rows, dim]). */
    public static void writeAll(FixedSizeBinaryVector vector, float[] source, int dim) {
        int rows = source.length / dim;
        int[] identity = new int[rows];
        for (int r = 0; r < rows; r++) {
            identity[r] = r;
        }
        write(vector, source, identity, dim);
    }

    /** The vector's rows widened to fp32, [valueCount, dim]. */
    public static float[] read(FixedSizeBinaryVector vector, int dim) {
        HiddenType type = typeOf(vector.getByteWidth(), dim);
        int n = vector.getValueCount() * dim;
        float[] out = new float[n];
        MemorySegment data = segment(vector.getDataBuffer());
        if (type == HiddenType.BF16) {
            for (int i = 0; i < n; i++) {
                out[i] = Weight.bf16ToFloat(data.getAtIndex(Weight.BF16, i));
            }
        } else {
            MemorySegment.copy(data, Weight.F32, 0, out, 0, n);
        }
        return out;
    }

    /** Rounds to the nearest bf16, ties to even (as PyTorch's float-to-bfloat16 conversion). */
    static short toBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    static MemorySegment segment(ArrowBuf buf) {
        return MemorySegment.ofAddress(buf.memoryAddress()).reinterpret(buf.capacity());
    }

    /** Keeps the vector's buffers across messages, growing them only for a larger batch. */
    static void ensureCapacity(FixedSizeBinaryVector vector, int rows) {
        if (vector.getValueCapacity() < rows) {
            vector.allocateNew(Math.max(rows, 2 * vector.getValueCapacity()));
        }
    }
}
