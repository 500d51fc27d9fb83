package dev.expertmesh.backend;

import dev.expertmesh.tensor.E4m3;
import dev.expertmesh.tensor.Weight;
import dev.expertmesh.tensor.WeightFormat;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * The CPU backend: Vector API kernels, matrix products split by output rows over the common
 * fork-join pool. BF16 weights are widened in registers (a BF16 value is the top half of an fp32),
 * so a matrix-vector product streams 2 bytes per weight from memory; INT8 weights are widened the
 * same way and their row's scale applied once to the row's sum, 1 byte per weight; FP8 e4m3 codes
 * (1 byte) and INT4 nibbles (half a byte) are decoded in registers and each block's or group's scale
 * applied once to its partial sum. No dequantized copy of a matrix is made. Open for backends that
 * move some operations elsewhere (the GPU's large products) and keep the rest here.
 */
public class CpuBackend implements Backend {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /**
     * Below this many multiply-adds (about 50 µs on one core) a product runs on the calling thread: a
     * fork-join round trip costs 5 to 20 µs, too much for a 128-row head projection.
     */
    private static final long PARALLEL_THRESHOLD = 1 << 18;
    /** INT4 and FP8: batch rows multiplied against each weight row while it is in L1. */
    private static final int BATCH_BLOCK = 4;
    /** BF16, F32 and INT8: weight rows and batch rows of a register tile (see {@link #denseTile}). */
    private static final int ROW_TILE = 3;
    private static final int TOKEN_TILE = 4;
    /** What an INT4 nibble holds above its level. */
    private static final int NIBBLE_BIAS = 8;

    @Override
    public void matmul(Weight w, float[] xIn, int xInOffset, int batch, float[] out, int outOffset) {
        float[] x = w.format() instanceof WeightFormat.Int4Grouped ? deinterleaved(xIn, xInOffset, batch, w.cols()) : xIn;
        int xOffset = x == xIn ? xInOffset : 0;
        int rows = w.rows();
        long work = (long) rows * w.cols() * batch;
        if (work < PARALLEL_THRESHOLD) {
            matmulRows(w, x, xOffset, batch, out, outOffset, 0, rows);
            return;
        }
        // Chunks start on whole tiles of ROW_TILE rows, so that only the last one has leftover rows.
        int tiles = (rows + ROW_TILE - 1) / ROW_TILE;
        int chunks = Math.min(tiles, 8 * Runtime.getRuntime().availableProcessors());
        IntStream.range(0, chunks).parallel().forEach(chunk -> matmulRows(w, x, xOffset, batch, out, outOffset,
                Math.min(rows, ROW_TILE * (int) ((long) tiles * chunk / chunks)),
                Math.min(rows, ROW_TILE * (int) ((long) tiles * (chunk + 1) / chunks))));
    }

    private static void matmulRows(Weight w, float[] x, int xOffset, int batch, float[] out, int outOffset,
                                   int rowStart, int rowEnd) {
        switch (w.format()) {
            case WeightFormat.Int4Grouped q -> blockedRows(w, x, xOffset, batch, out, outOffset, rowStart, rowEnd);
            case WeightFormat.Fp8Block q -> blockedRows(w, x, xOffset, batch, out, outOffset, rowStart, rowEnd);
            default -> denseRows(w, x, xOffset, batch, out, outOffset, rowStart, rowEnd);
        }
    }

    /**
     * BF16, F32 and INT8 rows in tiles of ROW_TILE weight rows by TOKEN_TILE batch rows: each weight
     * vector is widened once for the tile's tokens and each x vector loaded once for its rows, and a
     * tile's weight rows stay in L1 while every token block passes over them. Leftover tokens take
     * a tile of ROW_TILE rows by two tokens, then of ROW_TILE rows by one, leftover rows one row and
     * one token at a time. Every (row, token) is summed in {@link #denseRow}'s order whichever kernel
     * computes it.
     */
    private static void denseRows(Weight w, float[] x, int xOffset, int batch, float[] out, int outOffset,
                                  int rowStart, int rowEnd) {
        int cols = w.cols();
        int rows = w.rows();
        int r = rowStart;
        for (; r + ROW_TILE <= rowEnd; r += ROW_TILE) {
            int b = 0;
            for (; b + TOKEN_TILE <= batch; b += TOKEN_TILE) {
                denseTile(w, r, x, xOffset + b * cols, out, outOffset + b * rows + r);
            }
            if (b + 2 <= batch) {
                densePairTile(w, r, x, xOffset + b * cols, out, outOffset + b * rows + r);
                b += 2;
            }
            for (; b < batch; b++) {
                denseRowTile(w, r, x, xOffset + b * cols, out, outOffset + b * rows + r);
            }
        }
        for (; r < rowEnd; r++) {
            for (int b = 0; b < batch; b++) {
                out[outOffset + b * rows + r] = denseRow(w, r, x, xOffset + b * cols);
            }
        }
    }

    /** INT4 and FP8 rows: each weight row against blocks of BATCH_BLOCK x rows, then the leftover rows one at a time. */
    private static void blockedRows(Weight w, float[] x, int xOffset, int batch, float[] out, int outOffset,
                                    int rowStart, int rowEnd) {
        int cols = w.cols();
        int rows = w.rows();
        for (int r = rowStart; r < rowEnd; r++) {
            int b = 0;
            for (; b + BATCH_BLOCK <= batch; b += BATCH_BLOCK) {
                dotRow4(w, r, x, xOffset + b * cols, out, outOffset + b * rows + r, rows);
            }
            for (; b < batch; b++) {
                out[outOffset + b * rows + r] = dotRow(w, r, x, xOffset + b * cols);
            }
        }
    }

    /** W[row]·x[xOffset, xOffset + cols) for the formats with their own row kernels: INT4 and FP8. */
    private static float dotRow(Weight w, int row, float[] x, int xOffset) {
        return switch (w.format()) {
            case WeightFormat.Int4Grouped q -> int4Row(w, q, row, x, xOffset);
            case WeightFormat.Fp8Block q -> fp8Row(w, q, row, x, xOffset);
            default -> throw new IllegalStateException(w.format() + " rows go through denseRows");
        };
    }

    /**
     * W[row]·x[xOffset, xOffset + cols) for BF16, F32 and INT8: one vector accumulator over the whole
     * vectors, its lanes added first to last, then the scalar tail, then times the row's scale (1
     * unless quantized). Batch 1 runs {@link #denseRowTile}, which sums in this order, so one
     * accumulator per (row, token) costs no FMA latency.
     */
    private static float denseRow(Weight w, int row, float[] x, int xOffset) {
        MemorySegment data = w.data();
        WeightFormat format = w.format();
        long rowStart = (long) row * w.cols();
        FloatVector acc = FloatVector.zero(F);
        int c = 0;
        for (int bound = F.loopBound(w.cols()); c < bound; c += F.length()) {
            acc = weights(data, format, rowStart + c).fma(FloatVector.fromArray(F, x, xOffset + c), acc);
        }
        return finished(acc, w, row, x, xOffset);
    }

    /** {@link #denseRow}'s end for a row's vector accumulator: lanes added, the scalar tail added, the row's scale applied. */
    private static float finished(FloatVector acc, Weight w, int row, float[] x, int xOffset) {
        MemorySegment data = w.data();
        WeightFormat format = w.format();
        int cols = w.cols();
        long rowStart = (long) row * cols;
        float sum = sumLanes(acc);
        for (int c = F.loopBound(cols); c < cols; c++) {
            sum += stored(data, format, rowStart + c) * x[xOffset + c];
        }
        return sum * rowScale(format, row);
    }

    /** {@link #denseRow} for ROW_TILE consecutive rows from {@code row} against one x row. */
    private static void denseRowTile(Weight w, int row, float[] x, int xOffset, float[] out, int outIndex) {
        MemorySegment data = w.data();
        WeightFormat format = w.format();
        int cols = w.cols();
        long w0 = (long) row * cols;
        long w1 = w0 + cols;
        long w2 = w1 + cols;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F);
        for (int c = 0, bound = F.loopBound(cols); c < bound; c += F.length()) {
            FloatVector v = FloatVector.fromArray(F, x, xOffset + c);
            a0 = weights(data, format, w0 + c).fma(v, a0);
            a1 = weights(data, format, w1 + c).fma(v, a1);
            a2 = weights(data, format, w2 + c).fma(v, a2);
        }
        out[outIndex] = finished(a0, w, row, x, xOffset);
        out[outIndex + 1] = finished(a1, w, row + 1, x, xOffset);
        out[outIndex + 2] = finished(a2, w, row + 2, x, xOffset);
    }

    /**
     * {@link #denseRow} for ROW_TILE rows from {@code row} against two x rows {@code cols} apart,
     * written {@code w.rows()} apart: a routed expert's usual 2 or 3 tokens widen each weight vector
     * once, not once a token.
     */
    private static void densePairTile(Weight w, int row, float[] x, int xOffset, float[] out, int outIndex) {
        MemorySegment data = w.data();
        WeightFormat format = w.format();
        int cols = w.cols();
        long w0 = (long) row * cols;
        long w1 = w0 + cols;
        long w2 = w1 + cols;
        int x1 = xOffset + cols;
        FloatVector a00 = FloatVector.zero(F);
        FloatVector a01 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F);
        FloatVector a11 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F);
        FloatVector a21 = FloatVector.zero(F);
        for (int c = 0, bound = F.loopBound(cols); c < bound; c += F.length()) {
            FloatVector r0 = weights(data, format, w0 + c);
            FloatVector r1 = weights(data, format, w1 + c);
            FloatVector r2 = weights(data, format, w2 + c);
            FloatVector v = FloatVector.fromArray(F, x, xOffset + c);
            a00 = r0.fma(v, a00);
            a10 = r1.fma(v, a10);
            a20 = r2.fma(v, a20);
            v = FloatVector.fromArray(F, x, x1 + c);
            a01 = r0.fma(v, a01);
            a11 = r1.fma(v, a11);
            a21 = r2.fma(v, a21);
        }
        int rows = w.rows();
        out[outIndex] = finished(a00, w, row, x, xOffset);
        out[outIndex + 1] = finished(a10, w, row + 1, x, xOffset);
        out[outIndex + 2] = finished(a20, w, row + 2, x, xOffset);
        out[outIndex + rows] = finished(a01, w, row, x, x1);
        out[outIndex + rows + 1] = finished(a11, w, row + 1, x, x1);
        out[outIndex + rows + 2] = finished(a21, w, row + 2, x, x1);
    }

    /**
     * {@link #denseRow} for ROW_TILE rows from {@code row} against TOKEN_TILE x rows {@code cols}
     * apart, written {@code w.rows()} apart: 12 accumulators, 3 weight vectors and one x vector fill
     * AVX2's 16 registers, 12 FMAs for 7 loads.
     */
    private static void denseTile(Weight w, int row, float[] x, int xOffset, float[] out, int outIndex) {
        MemorySegment data = w.data();
        WeightFormat format = w.format();
        int cols = w.cols();
        int rows = w.rows();
        long w0 = (long) row * cols;
        long w1 = w0 + cols;
        long w2 = w1 + cols;
        int x1 = xOffset + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        FloatVector a00 = FloatVector.zero(F);
        FloatVector a01 = FloatVector.zero(F);
        FloatVector a02 = FloatVector.zero(F);
        FloatVector a03 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F);
        FloatVector a11 = FloatVector.zero(F);
        FloatVector a12 = FloatVector.zero(F);
        FloatVector a13 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F);
        FloatVector a21 = FloatVector.zero(F);
        FloatVector a22 = FloatVector.zero(F);
        FloatVector a23 = FloatVector.zero(F);
        for (int c = 0, bound = F.loopBound(cols); c < bound; c += F.length()) {
            FloatVector r0 = weights(data, format, w0 + c);
            FloatVector r1 = weights(data, format, w1 + c);
            FloatVector r2 = weights(data, format, w2 + c);
            FloatVector v = FloatVector.fromArray(F, x, xOffset + c);
            a00 = r0.fma(v, a00);
            a10 = r1.fma(v, a10);
            a20 = r2.fma(v, a20);
            v = FloatVector.fromArray(F, x, x1 + c);
            a01 = r0.fma(v, a01);
            a11 = r1.fma(v, a11);
            a21 = r2.fma(v, a21);
            v = FloatVector.fromArray(F, x, x2 + c);
            a02 = r0.fma(v, a02);
            a12 = r1.fma(v, a12);
            a22 = r2.fma(v, a22);
            v = FloatVector.fromArray(F, x, x3 + c);
            a03 = r0.fma(v, a03);
            a13 = r1.fma(v, a13);
            a23 = r2.fma(v, a23);
        }
        out[outIndex] = finished(a00, w, row, x, xOffset);
        out[outIndex + 1] = finished(a10, w, row + 1, x, xOffset);
        out[outIndex + 2] = finished(a20, w, row + 2, x, xOffset);
        out[outIndex + rows] = finished(a01, w, row, x, x1);
        out[outIndex + rows + 1] = finished(a11, w, row + 1, x, x1);
        out[outIndex + rows + 2] = finished(a21, w, row + 2, x, x1);
        out[outIndex + 2 * rows] = finished(a02, w, row, x, x2);
        out[outIndex + 2 * rows + 1] = finished(a12, w, row + 1, x, x2);
        out[outIndex + 2 * rows + 2] = finished(a22, w, row + 2, x, x2);
        out[outIndex + 3 * rows] = finished(a03, w, row, x, x3);
        out[outIndex + 3 * rows + 1] = finished(a13, w, row + 1, x, x3);
        out[outIndex + 3 * rows + 2] = finished(a23, w, row + 2, x, x3);
    }

    /**
     * x's rows rearranged for the INT4 kernel: within each whole chunk of 2·F.length() columns, the
     * even columns first, then the odd ones, the order in which one byte vector's low and high
     * nibbles come out. Permuting x once per product is cheaper than re-interleaving nibbles for
     * every weight row. Columns past the last whole chunk keep their place.
     */
    private static float[] deinterleaved(float[] x, int xOffset, int batch, int cols) {
        float[] out = new float[batch * cols];
        for (int b = 0; b < batch; b++) {
            for (int c = 0; c < cols; c++) {
                out[b * cols + deinterleavedIndex(c, cols)] = x[xOffset + b * cols + c];
            }
        }
        return out;
    }

    private static int deinterleavedIndex(int c, int cols) {
        int chunk = 2 * F.length();
        int chunkStart = c - c % chunk;
        if (chunkStart + chunk > cols) {
            return c;
        }
        int within = c % chunk;
        return chunkStart + (within % 2 == 0 ? within / 2 : F.length() + within / 2);
    }

    /**
     * An INT4 row against de-interleaved x: each group's vector partial sum of q·x times the group's
     * scale (as a vector, so that lanes are added across once a row, not once a group), then the
     * groups' scalar tails, each times its scale.
     */
    private static float int4Row(Weight w, WeightFormat.Int4Grouped q, int row, float[] x, int xOffset) {
        int cols = w.cols();
        int lanes = F.length();
        MemorySegment data = w.data();
        long rowBase = row * WeightFormat.Int4Grouped.rowBytes(cols);
        boolean vectorGroups = q.groupSize() % (2 * lanes) == 0;
        FloatVector total = FloatVector.zero(F);
        float tails = 0;
        for (int g = 0, groups = q.groupsPerRow(cols); g < groups; g++) {
            int c = g * q.groupSize();
            int to = Math.min(cols, c + q.groupSize());
            float scale = q.scale(row, g, cols);
            FloatVector even = FloatVector.zero(F);
            FloatVector odd = FloatVector.zero(F);
            for (int vectorTo = vectorGroups ? to : c; c + 2 * lanes <= vectorTo; c += 2 * lanes) {
                IntVector packed = nibbles(data, rowBase + c / 2);
                even = low(packed).fma(FloatVector.fromArray(F, x, xOffset + c), even);
                odd = high(packed).fma(FloatVector.fromArray(F, x, xOffset + c + lanes), odd);
            }
            total = even.add(odd).fma(FloatVector.broadcast(F, scale), total);
            float tail = 0;
            for (; c < to; c++) {
                tail += int4Level(data, rowBase, c) * x[xOffset + deinterleavedIndex(c, cols)];
            }
            tails += tail * scale;
        }
        return sumLanes(total) + tails;
    }

    /** F.length() bytes of packed nibbles from {@code index}, widened to ints. */
    private static IntVector nibbles(MemorySegment data, long index) {
        return (IntVector) ByteVector.fromMemorySegment(B, data, index, LE).convertShape(VectorOperators.B2I, I, 0);
    }

    /** The levels of the even columns (low nibbles). */
    private static FloatVector low(IntVector packed) {
        return (FloatVector) packed.and(0xF).sub(NIBBLE_BIAS).convert(VectorOperators.I2F, 0);
    }

    /** The levels of the odd columns (high nibbles). */
    private static FloatVector high(IntVector packed) {
        return (FloatVector) packed.lanewise(VectorOperators.LSHR, 4).and(0xF).sub(NIBBLE_BIAS).convert(VectorOperators.I2F, 0);
    }

    private static int int4Level(MemorySegment data, long rowBase, int c) {
        int packed = data.get(ValueLayout.JAVA_BYTE, rowBase + c / 2);
        return ((c % 2 == 0 ? packed : packed >> 4) & 0xF) - NIBBLE_BIAS;
    }

    /**
     * An FP8 row: each block's vector partial sum of the e4m3 values times x, times the block's scale
     * (as a vector, lanes added across once a row), then the blocks' scalar tails, each times its scale.
     */
    private static float fp8Row(Weight w, WeightFormat.Fp8Block q, int row, float[] x, int xOffset) {
        int cols = w.cols();
        int lanes = F.length();
        MemorySegment data = w.data();
        long rowStart = (long) row * cols;
        FloatVector total = FloatVector.zero(F);
        float tails = 0;
        for (int from = 0; from < cols; from += q.blockCols()) {
            int to = Math.min(cols, from + q.blockCols());
            float scale = q.scale(row, from, cols);
            FloatVector acc0 = FloatVector.zero(F);
            FloatVector acc1 = FloatVector.zero(F);
            int c = from;
            for (; c + 2 * lanes <= to; c += 2 * lanes) {
                acc0 = e4m3(data, rowStart + c).fma(FloatVector.fromArray(F, x, xOffset + c), acc0);
                acc1 = e4m3(data, rowStart + c + lanes).fma(FloatVector.fromArray(F, x, xOffset + c + lanes), acc1);
            }
            for (; c + lanes <= to; c += lanes) {
                acc0 = e4m3(data, rowStart + c).fma(FloatVector.fromArray(F, x, xOffset + c), acc0);
            }
            total = acc0.add(acc1).fma(FloatVector.broadcast(F, scale), total);
            float tail = 0;
            for (; c < to; c++) {
                tail += E4m3.toFloat(data.get(ValueLayout.JAVA_BYTE, rowStart + c)) * x[xOffset + c];
            }
            tails += tail * scale;
        }
        return sumLanes(total) + tails;
    }

    /**
     * F.length() e4m3 codes from byte {@code index}, decoded in registers: sign, exponent and mantissa
     * moved into an fp32's places give the value times 2^-120, undone by one multiply. NaN codes
     * (0x7F, 0xFF) would decode as finite values; quantizers never write them and checkpoints'
     * weights hold none. The 2^120 is not folded into the block scale: the products of values
     * near 2^-126 with activations would be subnormal and lose precision.
     */
    private static FloatVector e4m3(MemorySegment data, long index) {
        IntVector codes = (IntVector) ByteVector.fromMemorySegment(B, data, index, LE).convertShape(VectorOperators.B2I, I, 0);
        IntVector bits = codes.and(0x7F).lanewise(VectorOperators.LSHL, 20)
                .or(codes.and(0x80).lanewise(VectorOperators.LSHL, 24));
        return bits.reinterpretAsFloats().mul(E4m3.EXPONENT_SHIFT);
    }

    /**
     * An INT4 or FP8 row against four consecutive x rows: each weight vector is loaded (and decoded)
     * once for all four. Every row is summed in exactly {@link #dotRow}'s order, so a token's result
     * does not depend on how many tokens share the step.
     */
    private static void dotRow4(Weight w, int row, float[] x, int xOffset, float[] out, int outIndex, int outStride) {
        float[] sums = switch (w.format()) {
            case WeightFormat.Int4Grouped q -> int4Row4(w, q, row, x, xOffset);
            case WeightFormat.Fp8Block q -> fp8Row4(w, q, row, x, xOffset);
            default -> throw new IllegalStateException(w.format() + " rows go through denseRows");
        };
        for (int k = 0; k < BATCH_BLOCK; k++) {
            out[outIndex + k * outStride] = sums[k];
        }
    }

    /** {@link #int4Row} for four x rows {@code cols} apart: the nibbles unpacked once for all four, each summed in its order. */
    private static float[] int4Row4(Weight w, WeightFormat.Int4Grouped q, int row, float[] x, int xOffset) {
        int cols = w.cols();
        int lanes = F.length();
        MemorySegment data = w.data();
        long rowBase = row * WeightFormat.Int4Grouped.rowBytes(cols);
        boolean vectorGroups = q.groupSize() % (2 * lanes) == 0;
        int x1 = xOffset + cols;
        int x2 = xOffset + 2 * cols;
        int x3 = xOffset + 3 * cols;
        FloatVector total0 = FloatVector.zero(F);
        FloatVector total1 = FloatVector.zero(F);
        FloatVector total2 = FloatVector.zero(F);
        FloatVector total3 = FloatVector.zero(F);
        float[] tails = new float[BATCH_BLOCK];
        for (int g = 0, groups = q.groupsPerRow(cols); g < groups; g++) {
            int c = g * q.groupSize();
            int to = Math.min(cols, c + q.groupSize());
            float scale = q.scale(row, g, cols);
            FloatVector even0 = FloatVector.zero(F);
            FloatVector even1 = FloatVector.zero(F);
            FloatVector even2 = FloatVector.zero(F);
            FloatVector even3 = FloatVector.zero(F);
            FloatVector odd0 = FloatVector.zero(F);
            FloatVector odd1 = FloatVector.zero(F);
            FloatVector odd2 = FloatVector.zero(F);
            FloatVector odd3 = FloatVector.zero(F);
            for (int vectorTo = vectorGroups ? to : c; c + 2 * lanes <= vectorTo; c += 2 * lanes) {
                IntVector packed = nibbles(data, rowBase + c / 2);
                FloatVector low = low(packed);
                FloatVector high = high(packed);
                even0 = low.fma(FloatVector.fromArray(F, x, xOffset + c), even0);
                even1 = low.fma(FloatVector.fromArray(F, x, x1 + c), even1);
                even2 = low.fma(FloatVector.fromArray(F, x, x2 + c), even2);
                even3 = low.fma(FloatVector.fromArray(F, x, x3 + c), even3);
                odd0 = high.fma(FloatVector.fromArray(F, x, xOffset + c + lanes), odd0);
                odd1 = high.fma(FloatVector.fromArray(F, x, x1 + c + lanes), odd1);
                odd2 = high.fma(FloatVector.fromArray(F, x, x2 + c + lanes), odd2);
                odd3 = high.fma(FloatVector.fromArray(F, x, x3 + c + lanes), odd3);
            }
            total0 = even0.add(odd0).fma(FloatVector.broadcast(F, scale), total0);
            total1 = even1.add(odd1).fma(FloatVector.broadcast(F, scale), total1);
            total2 = even2.add(odd2).fma(FloatVector.broadcast(F, scale), total2);
            total3 = even3.add(odd3).fma(FloatVector.broadcast(F, scale), total3);
            float t0 = 0;
            float t1 = 0;
            float t2 = 0;
            float t3 = 0;
            for (; c < to; c++) {
                int level = int4Level(data, rowBase, c);
                int xc = deinterleavedIndex(c, cols);
                t0 += level * x[xOffset + xc];
                t1 += level * x[x1 + xc];
                t2 += level * x[x2 + xc];
                t3 += level * x[x3 + xc];
            }
            tails[0] += t0 * scale;
            tails[1] += t1 * scale;
            tails[2] += t2 * scale;
            tails[3] += t3 * scale;
        }
        return new float[]{sumLanes(total0) + tails[0], sumLanes(total1) + tails[1], sumLanes(total2) + tails[2],
                sumLanes(total3) + tails[3]};
    }

    /** {@link #fp8Row} for four x rows {@code cols} apart: the codes decoded once for all four, each summed in its order. */
    private static float[] fp8Row4(Weight w, WeightFormat.Fp8Block q, int row, float[] x, int xOffset) {
        int cols = w.cols();
        int lanes = F.length();
        MemorySegment data = w.data();
        long rowStart = (long) row * cols;
        int x1 = xOffset + cols;
        int x2 = xOffset + 2 * cols;
        int x3 = xOffset + 3 * cols;
        FloatVector total0 = FloatVector.zero(F);
        FloatVector total1 = FloatVector.zero(F);
        FloatVector total2 = FloatVector.zero(F);
        FloatVector total3 = FloatVector.zero(F);
        float[] tails = new float[BATCH_BLOCK];
        for (int from = 0; from < cols; from += q.blockCols()) {
            int to = Math.min(cols, from + q.blockCols());
            float scale = q.scale(row, from, cols);
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = FloatVector.zero(F);
            FloatVector a2 = FloatVector.zero(F);
            FloatVector a3 = FloatVector.zero(F);
            FloatVector b0 = FloatVector.zero(F);
            FloatVector b1 = FloatVector.zero(F);
            FloatVector b2 = FloatVector.zero(F);
            FloatVector b3 = FloatVector.zero(F);
            int c = from;
            for (; c + 2 * lanes <= to; c += 2 * lanes) {
                FloatVector wa = e4m3(data, rowStart + c);
                FloatVector wb = e4m3(data, rowStart + c + lanes);
                a0 = wa.fma(FloatVector.fromArray(F, x, xOffset + c), a0);
                a1 = wa.fma(FloatVector.fromArray(F, x, x1 + c), a1);
                a2 = wa.fma(FloatVector.fromArray(F, x, x2 + c), a2);
                a3 = wa.fma(FloatVector.fromArray(F, x, x3 + c), a3);
                b0 = wb.fma(FloatVector.fromArray(F, x, xOffset + c + lanes), b0);
                b1 = wb.fma(FloatVector.fromArray(F, x, x1 + c + lanes), b1);
                b2 = wb.fma(FloatVector.fromArray(F, x, x2 + c + lanes), b2);
                b3 = wb.fma(FloatVector.fromArray(F, x, x3 + c + lanes), b3);
            }
            for (; c + lanes <= to; c += lanes) {
                FloatVector wa = e4m3(data, rowStart + c);
                a0 = wa.fma(FloatVector.fromArray(F, x, xOffset + c), a0);
                a1 = wa.fma(FloatVector.fromArray(F, x, x1 + c), a1);
                a2 = wa.fma(FloatVector.fromArray(F, x, x2 + c), a2);
                a3 = wa.fma(FloatVector.fromArray(F, x, x3 + c), a3);
            }
            total0 = a0.add(b0).fma(FloatVector.broadcast(F, scale), total0);
            total1 = a1.add(b1).fma(FloatVector.broadcast(F, scale), total1);
            total2 = a2.add(b2).fma(FloatVector.broadcast(F, scale), total2);
            total3 = a3.add(b3).fma(FloatVector.broadcast(F, scale), total3);
            float t0 = 0;
            float t1 = 0;
            float t2 = 0;
            float t3 = 0;
            for (; c < to; c++) {
                float wc = E4m3.toFloat(data.get(ValueLayout.JAVA_BYTE, rowStart + c));
                t0 += wc * x[xOffset + c];
                t1 += wc * x[x1 + c];
                t2 += wc * x[x2 + c];
                t3 += wc * x[x3 + c];
            }
            tails[0] += t0 * scale;
            tails[1] += t1 * scale;
            tails[2] += t2 * scale;
            tails[3] += t3 * scale;
        }
        return new float[]{sumLanes(total0) + tails[0], sumLanes(total1) + tails[1], sumLanes(total2) + tails[2],
                sumLanes(total3) + tails[3]};
    }

    /**
     * The lanes added first to last. Compiled code may reassociate reduceLanes(ADD) differently from
     * the interpreter, and a sum must not depend on whether its caller has been JIT-compiled yet. The
     * lanes go through memory: one vector store and scalar loads cost a fraction of extracting each
     * lane from the register (a shuffle per lane of a 512-bit vector), which took about a third
     * of a 3 x 4 tile's time at 2048 columns.
     */
    private static float sumLanes(FloatVector v) {
        float[] lanes = new float[F.length()];
        v.intoArray(lanes, 0);
        float sum = 0;
        for (float lane : lanes) {
            sum += lane;
        }
        return sum;
    }

    /** F.length() stored values starting at element {@code index}, widened to fp32 (INT8 ones unscaled). */
    private static FloatVector weights(MemorySegment data, WeightFormat format, long index) {
        return switch (format) {
            case WeightFormat.Bf16 b -> ((IntVector) ShortVector.fromMemorySegment(S, data, index * 2, LE)
                    .convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats();
            case WeightFormat.F32 f -> FloatVector.fromMemorySegment(F, data, index * 4, LE);
            case WeightFormat.Int8PerChannel q -> (FloatVector) ByteVector.fromMemorySegment(B, data, index, LE)
                    .convertShape(VectorOperators.B2F, F, 0);
            case WeightFormat.Int4Grouped q -> throw new IllegalStateException("INT4 rows have their own kernel");
            case WeightFormat.Fp8Block q -> throw new IllegalStateException("FP8 rows have their own kernel");
        };
    }

    /** The stored value of element {@code index} as fp32, the scalar twin of {@link #weights}. */
    private static float stored(MemorySegment data, WeightFormat format, long index) {
        return switch (format) {
            case WeightFormat.Bf16 b -> Weight.bf16ToFloat(data.getAtIndex(Weight.BF16, index));
            case WeightFormat.F32 f -> data.getAtIndex(Weight.F32, index);
            case WeightFormat.Int8PerChannel q -> data.get(ValueLayout.JAVA_BYTE, index);
            case WeightFormat.Int4Grouped q -> throw new IllegalStateException("INT4 rows have their own kernel");
            case WeightFormat.Fp8Block q -> throw new IllegalStateException("FP8 rows have their own kernel");
        };
    }

    /** What a row's stored values are multiplied by: its scale if quantized, else 1 (exact). */
    private static float rowScale(WeightFormat format, int row) {
        return format instanceof WeightFormat.Int8PerChannel q ? q.scale(row) : 1f;
    }

    @Override
    public void matmulTransposed(Weight w, float[] x, int xOffset, float[] out, int outOffset) {
        int cols = w.cols();
        MemorySegment data = w.data();
        WeightFormat format = w.format();
        Arrays.fill(out, outOffset, outOffset + cols, 0f);
        switch (format) {
            case WeightFormat.Int4Grouped q -> int4Transposed(w, q, x, xOffset, out, outOffset);
            case WeightFormat.Fp8Block q -> fp8Transposed(w, q, x, xOffset, out, outOffset);
            default -> denseTransposed(w, x, xOffset, out, outOffset);
        }
    }

    /**
     * out = Σ_r x[r]·scale(r, g)·q[r] over each row's groups, the scale applied once per group to
     * x[r]. Summed in the de-interleaved column order (see {@link #deinterleaved}), in which a byte
     * vector's low and high nibbles land on whole vectors, then put back in column order.
     */
    private static void int4Transposed(Weight w, WeightFormat.Int4Grouped q, float[] x, int xOffset, float[] out, int outOffset) {
        int cols = w.cols();
        int lanes = F.length();
        boolean vectorGroups = q.groupSize() % (2 * lanes) == 0;
        MemorySegment data = w.data();
        float[] sum = new float[cols];
        for (int r = 0; r < w.rows(); r++) {
            long rowBase = r * WeightFormat.Int4Grouped.rowBytes(cols);
            for (int g = 0, groups = q.groupsPerRow(cols); g < groups; g++) {
                float scaledX = x[xOffset + r] * q.scale(r, g, cols);
                FloatVector xr = FloatVector.broadcast(F, scaledX);
                int c = g * q.groupSize();
                int to = Math.min(cols, c + q.groupSize());
                for (int vectorTo = vectorGroups ? to : c; c + 2 * lanes <= vectorTo; c += 2 * lanes) {
                    IntVector packed = nibbles(data, rowBase + c / 2);
                    low(packed).fma(xr, FloatVector.fromArray(F, sum, c)).intoArray(sum, c);
                    high(packed).fma(xr, FloatVector.fromArray(F, sum, c + lanes)).intoArray(sum, c + lanes);
                }
                for (; c < to; c++) {
                    sum[deinterleavedIndex(c, cols)] += int4Level(data, rowBase, c) * scaledX;
                }
            }
        }
        for (int c = 0; c < cols; c++) {
            out[outOffset + c] = sum[deinterleavedIndex(c, cols)];
        }
    }

    private static void fp8Transposed(Weight w, WeightFormat.Fp8Block q, float[] x, int xOffset, float[] out, int outOffset) {
        int cols = w.cols();
        MemorySegment data = w.data();
        for (int r = 0; r < w.rows(); r++) {
            long rowStart = (long) r * cols;
            for (int from = 0; from < cols; from += q.blockCols()) {
                int to = Math.min(cols, from + q.blockCols());
                float scaledX = x[xOffset + r] * q.scale(r, from, cols);
                FloatVector xr = FloatVector.broadcast(F, scaledX);
                int c = from;
                for (; c + F.length() <= to; c += F.length()) {
                    e4m3(data, rowStart + c).fma(xr, FloatVector.fromArray(F, out, outOffset + c)).intoArray(out, outOffset + c);
                }
                for (; c < to; c++) {
                    out[outOffset + c] += E4m3.toFloat(data.get(ValueLayout.JAVA_BYTE, rowStart + c)) * scaledX;
                }
            }
        }
    }

    private static void denseTransposed(Weight w, float[] x, int xOffset, float[] out, int outOffset) {
        int cols = w.cols();
        MemorySegment data = w.data();
        WeightFormat format = w.format();
        int bound = F.loopBound(cols);
        for (int r = 0; r < w.rows(); r++) {
            float scaledX = x[xOffset + r] * rowScale(format, r);
            FloatVector xr = FloatVector.broadcast(F, scaledX);
            long rowStart = (long) r * cols;
            int c = 0;
            for (; c < bound; c += F.length()) {
                weights(data, format, rowStart + c).fma(xr, FloatVector.fromArray(F, out, outOffset + c))
                        .intoArray(out, outOffset + c);
            }
            for (; c < cols; c++) {
                out[outOffset + c] += stored(data, format, rowStart + c) * scaledX;
            }
        }
    }

    @Override
    public void rmsNorm(float[] x, int xOffset, float[] gain, float eps, float[] out, int outOffset) {
        int n = gain.length;
        float meanSquare = dot(x, xOffset, x, xOffset, n) / n;
        float inverseRms = (float) (1.0 / Math.sqrt(meanSquare + eps));
        for (int i = 0; i < n; i++) {
            out[outOffset + i] = gain[i] * (x[xOffset + i] * inverseRms);
        }
    }

    @Override
    public void siluMul(float[] gate, float[] up, float[] out, int n) {
        for (int i = 0; i < n; i++) {
            float g = gate[i];
            out[i] = g / (1f + (float) Math.exp(-g)) * up[i];
        }
    }

    @Override
    public void softmax(float[] x, int offset, int length) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = offset; i < offset + length; i++) {
            max = Math.max(max, x[i]);
        }
        float sum = 0;
        for (int i = offset; i < offset + length; i++) {
            float e = (float) Math.exp(x[i] - max);
            x[i] = e;
            sum += e;
        }
        float inverse = 1f / sum;
        for (int i = offset; i < offset + length; i++) {
            x[i] *= inverse;
        }
    }

    @Override
    public float dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            acc = FloatVector.fromArray(F, a, aOffset + i).fma(FloatVector.fromArray(F, b, bOffset + i), acc);
        }
        float sum = sumLanes(acc);
        for (; i < n; i++) {
            sum += a[aOffset + i] * b[bOffset + i];
        }
        return sum;
    }

    @Override
    public void axpy(float alpha, float[] x, int xOffset, float[] y, int yOffset, int n) {
        FloatVector a = FloatVector.broadcast(F, alpha);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            FloatVector.fromArray(F, x, xOffset + i).fma(a, FloatVector.fromArray(F, y, yOffset + i)).intoArray(y, yOffset + i);
        }
        for (; i < n; i++) {
            y[yOffset + i] += alpha * x[xOffset + i];
        }
    }

    @Override
    public void applyRope(float[] x, int offset, float[] cos, float[] sin) {
        for (int i = 0; i < cos.length; i++) {
            int even = offset + 2 * i;
            float x0 = x[even];
            float x1 = x[even + 1];
            x[even] = x0 * cos[i] - x1 * sin[i];
            x[even + 1] = x0 * sin[i] + x1 * cos[i];
        }
    }

    @Override
    public void topK(float[] x, int offset, int n, int k, int[] out) {
        if (k > n) {
            throw new IllegalArgumentException("top-" + k + " of " + n + " values");
        }
        if (k == 0) {
            return;
        }
        // Insertion into a sorted buffer of k: O(n·k) at worst, O(n) for the usual case of few large values.
        int filled = 0;
        for (int i = 0; i < n; i++) {
            float v = x[offset + i];
            if (filled == k && !(v > x[offset + out[k - 1]])) {
                continue;
            }
            int j = filled == k ? k - 1 : filled++;
            while (j > 0 && v > x[offset + out[j - 1]]) {
                out[j] = out[j - 1];
                j--;
            }
            out[j] = i;
        }
    }
}
