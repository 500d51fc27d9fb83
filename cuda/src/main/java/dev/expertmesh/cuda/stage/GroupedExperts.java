package dev.expertmesh.cuda.stage;

import dev.expertmesh.cuda.runtime.DeviceBuffer;
import dev.expertmesh.cuda.runtime.Gpu;
import dev.expertmesh.tensor.WeightFormat;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.function.Function;

/**
 * One layer's routed experts as moe_linear_bf16 reads them: for each of gate, up and down, a device
 * array of the experts' matrix addresses in id order, so one launch finds every expert's weights.
 */
record GroupedExperts(DeviceBuffer gates, DeviceBuffer ups, DeviceBuffer downs, int intermediateSize) {

    /** The addresses of {@code experts} (every routed expert of the layer, each bf16). */
    static GroupedExperts of(Gpu gpu, int layer, GpuExpert[] experts) {
        for (int id = 0; id < experts.length; id++) {
            GpuExpert expert = experts[id];
            if (expert == null) {
                throw new IllegalStateException("expert " + id + " of layer " + layer + " is not loaded here: the device-resident "
                        + "loop needs every routed expert of a layer");
            }
            if (!(expert.gate().format() instanceof WeightFormat.Bf16) || !(expert.up().format() instanceof WeightFormat.Bf16)
                    || !(expert.down().format() instanceof WeightFormat.Bf16)) {
                throw new IllegalStateException("expert " + id + " of layer " + layer + " is " + expert.gate().format()
                        + ": grouped expert products read bf16 only");
            }
        }
        return new GroupedExperts(addresses(gpu, experts, e -> e.gate().address()), addresses(gpu, experts, e -> e.up().address()),
                addresses(gpu, experts, e -> e.down().address()), experts[0].intermediateSize());
    }

    private static DeviceBuffer addresses(Gpu gpu, GpuExpert[] experts, Function<GpuExpert, Long> matrix) {
        try (Arena arena = Arena.ofConfined()) {
            long[] addresses = new long[experts.length];
            for (int id = 0; id < experts.length; id++) {
                addresses[id] = matrix.apply(experts[id]);
            }
            return gpu.upload(arena.allocateFrom(ValueLayout.JAVA_LONG, addresses));
        }
    }

    void free(Gpu gpu) {
        gpu.free(gates);
        gpu.free(ups);
        gpu.free(downs);
    }
}
