package dev.expertmesh.tensor;

import dev.expertmesh.checkpoint.DType;

import java.lang.foreign.MemorySegment;

/**
 * How a weight matrix's elements are stored, and what else a kernel needs to read them. Closed, so
 * that every kernel says what it does for each format. Scales are little-endian fp32, row-major.
 */
public sealed interface WeightFormat {

    /** Bytes the data of a [rows, cols] matrix takes in this format. */
    long byteSize(int rows, int cols);

    /** Bytes of side data (scales) this format keeps next to the matrix's data. */
    default long scaleBytes() {
        return 0;
    }

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
        public long byteSize(int rows, int cols) {
            return 2L * rows * cols;
        }
    }

    record F32() implements WeightFormat {
        @Override
        public long byteSize(int rows, int cols) {
            return 4L * rows * cols;
        }
    }

    /**
     * Symmetric INT8 with one fp32 scale per output row: W[r][c] ≈ scales[r]·q[r][c], q in [-127, 127]
     * (-128 unused, so that the range is symmetric and negating a row is exact).
     */
    record Int8PerChannel(MemorySegment scales) implements WeightFormat {
        @Override
        public long byteSize(int rows, int cols) {
            return (long) rows * cols;
        }

        @Override
        public long scaleBytes() {
            return scales.byteSize();
        }

        public float scale(int row) {
            return scales.getAtIndex(Weight.F32, row);
        }
    }

    /**
     * Symmetric INT4 in groups of {@code groupSize} consecutive columns of a row (the last group of a
     * row may be shorter): W[r][c] ≈ scale(r, c / groupSize)·q, q in [-7, 7]. Two values a byte, each
     * row starting on a byte: element c of row r is the low nibble of byte r·rowBytes + c/2 for even c,
     * the high nibble for odd c, stored as q + 8 (so 0 is unused). Scales are [rows, groupsPerRow].
     */
    record Int4Grouped(int groupSize, MemorySegment scales) implements WeightFormat {
        public Int4Grouped {
            if (groupSize < 2 || groupSize % 2 != 0) {
                throw new IllegalArgumentException("an INT4 group holds an even number of columns, not " + groupSize);
            }
        }

        public static long rowBytes(int cols) {
            return (cols + 1) / 2;
        }

        public int groupsPerRow(int cols) {
            return (cols + groupSize - 1) / groupSize;
        }

        @Override
        public long byteSize(int rows, int cols) {
            return rows * rowBytes(cols);
        }

        @Override
        public long scaleBytes() {
            return scales.byteSize();
        }

        public float scale(int row, int group, int cols) {
            return scales.getAtIndex(Weight.F32, (long) row * groupsPerRow(cols) + group);
        }
    }

    /**
     * FP8 e4m3 (the OCP "e4m3fn": bias 7, largest 448, no infinities) with one fp32 scale per block of
     * blockRows × blockCols elements, as DeepSeek-V3 publishes its weights: W[r][c] = scale of block
     * ((r + rowOffset) / blockRows, c / blockCols) · e4m3(W[r][c]). The scales are the checkpoint's
     * {@code weight_scale_inv} [ceil(rows / blockRows), ceil(cols / blockCols)], used as they are
     * (despite the name, they multiply). {@code rowOffset} is 0 but for a row slice that starts inside a block.
     */
    record Fp8Block(int blockRows, int blockCols, int rowOffset, MemorySegment scales) implements WeightFormat {
        public Fp8Block {
            if (blockRows < 1 || blockCols < 1 || rowOffset < 0 || rowOffset >= blockRows) {
                throw new IllegalArgumentException("FP8 blocks of " + blockRows + " x " + blockCols + ", row offset " + rowOffset);
            }
        }

        public int blocksPerRow(int cols) {
            return (cols + blockCols - 1) / blockCols;
        }

        /** Block rows a slice of {@code rows} rows starting {@code rowOffset} into its first block covers. */
        public int blockRowCount(int rows) {
            return (rowOffset + rows + blockRows - 1) / blockRows;
        }

        @Override
        public long byteSize(int rows, int cols) {
            return (long) rows * cols;
        }

        @Override
        public long scaleBytes() {
            return scales.byteSize();
        }

        public float scale(int row, int col, int cols) {
            return scales.getAtIndex(Weight.F32, (long) ((row + rowOffset) / blockRows) * blocksPerRow(cols) + col / blockCols);
        }
    }
}
