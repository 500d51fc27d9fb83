package dev.expertmesh.cuda.runtime;

import dev.expertmesh.tensor.Weight;
import dev.expertmesh.tensor.WeightFormat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A row-major matrix [rows, cols] in device memory, as the products read it: bf16 for cuBLAS, or a
 * quantized format's bytes exactly as packed on the host with its fp32 scales in {@code scales}
 * (null for bf16). {@code format} says how to read them; its own scales are the host's copy.
 */
public record DeviceWeight(DeviceBuffer data, DeviceBuffer scales, WeightFormat format, int rows, int cols) {

    public long address() {
        return data.address();
    }

    /** A host weight on the device: quantized formats as they are, F32 rounded to bf16 (nearest even). */
    public static DeviceWeight upload(Gpu gpu, Weight weight) {
        return switch (weight.format()) {
            case WeightFormat.Bf16 b -> new DeviceWeight(gpu.upload(weight.data()), null, b, weight.rows(), weight.cols());
            case WeightFormat.F32 f -> asBf16(gpu, weight);
            case WeightFormat.Int8PerChannel q -> quantized(gpu, weight, q.scales());
            case WeightFormat.Int4Grouped q -> quantized(gpu, weight, q.scales());
            case WeightFormat.Fp8Block q -> quantized(gpu, weight, q.scales());
        };
    }

    private static DeviceWeight quantized(Gpu gpu, Weight weight, MemorySegment scales) {
        return new DeviceWeight(gpu.upload(weight.data()), gpu.upload(scales), weight.format(), weight.rows(), weight.cols());
    }

    public void free(Gpu gpu) {
        gpu.free(data);
        if (scales != null) {
            gpu.free(scales);
        }
    }

    /**
     * A host weight on the device as bf16 whatever its format: each element rounded to nearest even,
     * after dequantizing. For a matrix cuBLAS reads in slices (kv_b_proj's per-head halves), which
     * the quantized kernels do not.
     */
    public static DeviceWeight asBf16(Gpu gpu, Weight weight) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate((long) weight.rows() * weight.cols() * GpuQueue.BF16_BYTES, 64);
            for (int r = 0; r < weight.rows(); r++) {
                for (int c = 0; c < weight.cols(); c++) {
                    out.setAtIndex(Weight.BF16, (long) r * weight.cols() + c, Bf16.round(weight.get(r, c)));
                }
            }
            return new DeviceWeight(gpu.upload(out), null, new WeightFormat.Bf16(), weight.rows(), weight.cols());
        }
    }
}
