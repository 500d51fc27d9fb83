package dev.expertmesh.cuda.runtime;

import dev.expertmesh.tensor.Weight;
import dev.expertmesh.tensor.WeightFormat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** A row-major bf16 matrix [rows, cols] in device memory: what every GEMM reads its weights from. */
public record DeviceWeight(DeviceBuffer buffer, int rows, int cols) {

    public long address() {
        return buffer.address();
    }


    /** A host weight on the device as bf16 (F32 weights are rounded to nearest even). */
    public static DeviceWeight upload(Gpu gpu, Weight weight) {
        return new DeviceWeight(gpu.upload(bf16(weight)), weight.rows(), weight.cols());
    }

    /**
     * Several weights with the same column count stacked into one matrix: gate and up of an expert
     * become one [2·inter, hidden] matrix, so one GEMM feeds silu_mul.
     */
    public static DeviceWeight stack(Gpu gpu, Weight... weights) {
        int cols = weights[0].cols();
        long rows = 0;
        for (Weight w : weights) {
            if (w.cols() != cols) {
                throw new IllegalArgumentException("cannot stack " + w.name() + " [" + w.rows() + ", " + w.cols() + "] under "
                        + cols + " columns");
            }
            rows += w.rows();
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment stacked = arena.allocate(rows * cols * GpuQueue.BF16_BYTES, 64);
            long at = 0;
            for (Weight w : weights) {
                MemorySegment part = bf16(w);
                MemorySegment.copy(part, 0, stacked, at, part.byteSize());
                at += part.byteSize();
            }
            return new DeviceWeight(gpu.upload(stacked), Math.toIntExact(rows), cols);
        }
    }

    /** The weight's bytes as bf16: BF16 in place, F32 rounded into a new segment; no GPU kernel reads INT8 yet. */
    private static MemorySegment bf16(Weight weight) {
        return switch (weight.format()) {
            case WeightFormat.Bf16 b -> weight.data();
            case WeightFormat.F32 f -> rounded(weight);
            case WeightFormat.Int8PerChannel _, WeightFormat.Int4Grouped _, WeightFormat.Fp8Block _ -> throw new IllegalArgumentException(weight.name()
                    + ": quantized weights run on the CPU backend only for now: use --device cpu, or drop --quantize");
        };
    }

    private static MemorySegment rounded(Weight weight) {
        long n = (long) weight.rows() * weight.cols();
        MemorySegment out = Arena.ofAuto().allocate(n * GpuQueue.BF16_BYTES, 64);
        for (long i = 0; i < n; i++) {
            out.setAtIndex(Weight.BF16, i, Bf16.round(weight.data().getAtIndex(Weight.F32, i)));
        }
        return out;
    }
}
