package dev.expertmesh.cuda.stage;

import dev.expertmesh.cuda.runtime.DeviceBuffer;
import dev.expertmesh.cuda.runtime.DeviceWeight;
import dev.expertmesh.cuda.runtime.Gpu;
import dev.expertmesh.tensor.WeightFormat;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.function.Function;

/**
 * One layer's routed experts as the grouped products read them: for each of gate, up and down, device
 * arrays of the experts' matrix addresses (and scale addresses for INT8) in id order, so one launch
 * finds every expert's weights. Every expert of the layer is bf16 (moe_linear_bf16), or every one INT8
 * per channel (moe_linear_int8); the other formats have no grouped kernel.
 */
record GroupedExperts(Matrices gates, Matrices ups, Matrices downs, int intermediateSize) {

    /** One projection of every expert: {@code scales} is null for bf16. */
    record Matrices(DeviceBuffer data, DeviceBuffer scales) {
        String kernel() {
            return scales == null ? "moe_linear_bf16" : "moe_linear_int8";
        }

        void free(Gpu gpu) {
            gpu.free(data);
            if (scales != null) {
                gpu.free(scales);
            }
        }
    }

    /** Whether {@link #of} takes these experts: all here, all bf16 or all INT8 per channel. */
    static boolean groups(GpuExpert[] experts) {
        if (Arrays.stream(experts).anyMatch(e -> e == null)) {
            return false;
        }
        return Arrays.stream(experts).allMatch(e -> isBf16(e))
                || Arrays.stream(experts).allMatch(e -> isInt8(e));
    }

    private static boolean isBf16(GpuExpert e) {
        return e.gate().format() instanceof WeightFormat.Bf16 && e.up().format() instanceof WeightFormat.Bf16
                && e.down().format() instanceof WeightFormat.Bf16;
    }

    private static boolean isInt8(GpuExpert e) {
        return e.gate().format() instanceof WeightFormat.Int8PerChannel && e.up().format() instanceof WeightFormat.Int8PerChannel
                && e.down().format() instanceof WeightFormat.Int8PerChannel;
    }

    /** The addresses of {@code experts}, every routed expert of the layer, as {@link #groups} requires. */
    static GroupedExperts of(Gpu gpu, int layer, GpuExpert[] experts) {
        if (!groups(experts)) {
            throw new IllegalStateException("layer " + layer + "'s routed experts are not all loaded here, all bf16 or all INT8: "
                    + "the device-resident loop has no grouped product for them");
        }
        return new GroupedExperts(matrices(gpu, experts, GpuExpert::gate), matrices(gpu, experts, GpuExpert::up),
                matrices(gpu, experts, GpuExpert::down), experts[0].intermediateSize());
    }

    private static Matrices matrices(Gpu gpu, GpuExpert[] experts, Function<GpuExpert, DeviceWeight> projection) {
        DeviceBuffer scales = projection.apply(experts[0]).scales() == null
                ? null
                : addresses(gpu, experts, e -> projection.apply(e).scales().address());
        return new Matrices(addresses(gpu, experts, e -> projection.apply(e).address()), scales);
    }

    private static DeviceBuffer addresses(Gpu gpu, GpuExpert[] experts, Function<GpuExpert, Long> address) {
        try (Arena arena = Arena.ofConfined()) {
            long[] addresses = new long[experts.length];
            for (int id = 0; id < experts.length; id++) {
                addresses[id] = address.apply(experts[id]);
            }
            return gpu.upload(arena.allocateFrom(ValueLayout.JAVA_LONG, addresses));
        }
    }

    void free(Gpu gpu) {
        gates.free(gpu);
        ups.free(gpu);
        downs.free(gpu);
    }
}
