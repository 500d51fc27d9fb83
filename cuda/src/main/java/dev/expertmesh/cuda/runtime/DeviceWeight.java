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
            case WeightFormat.F32 f -> new DeviceWeight(gpu.upload(rounded(weight)), null, new WeightFormat.Bf16(), weight.rows(),
                    weight.cols());
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

    private static MemorySegment rounded(Weight weight) {
        long n = (long) weight.rows() * weight.cols();
        MemorySegment out = Arena.ofAuto().allocate(n * GpuQueue.BF16_BYTES, 64);
        for (long i = 0; i < n; i++) {
            out.setAtIndex(Weight.BF16, i, Bf16.round(weight.data().getAtIndex(Weight.F32, i)));
        }
        return out;
    }
}
