package dev.expertmesh.tensor;

import dev.expertmesh.checkpoint.DType;

import java.lang.foreign.MemorySegment;

/**
 * How a weight matrix's elements are stored, and what else a kernel needs to read them. Closed, so
 * that every kernel says what it does for each format; INT4 group-wise and FP8 block-scaled
 * formats join here with their scales.
 */
public sealed interface WeightFormat {

    /** Bytes one element takes in the weight's data. */
    int elementBytes();

    /** The format of a checkpoint's floating-point matrix, stored as it is. */
    static WeightFormat of(DType dtype) {
        return switch (dtype) {
            case BF16 -> new Bf16();
            case F32 -> new F32();
            default -> throw new IllegalArgumentException("matrix weights are BF16 or F32, not " + dtype);
        };
    }

    /** bfloat16: the top half of an fp32. */
    record Bf16() implements WeightFormat {
        @Override
        public int elementBytes() {
            return 2;
        }
    }

    record F32() implements WeightFormat {
        @Override
        public int elementBytes() {
            return 4;
        }
    }

    /**
     * Symmetric INT8 with one fp32 scale per output row: W[r][c] ≈ scales[r]·q[r][c], q in [-127, 127]
     * (-128 unused, so that the range is symmetric and negating a row is exact).
     */
    record Int8PerChannel(MemorySegment scales) implements WeightFormat {
        @Override
        public int elementBytes() {
            return 1;
        }

        public float scale(int row) {
            return scales.getAtIndex(Weight.F32, row);
        }
    }
}
