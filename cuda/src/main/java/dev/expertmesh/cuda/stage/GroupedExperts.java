package dev.expertmesh.cuda.stage;

import dev.expertmesh.cuda.runtime.DeviceBuffer;
import dev.expertmesh.cuda.runtime.DeviceWeight;
import dev.expertmesh.cuda.runtime.Gpu;
import dev.expertmesh.tensor.WeightFormat;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Optional;
import java.util.function.Function;

/**
 * One layer's routed experts as the grouped products read them: for each of gate, up and down, device
 * arrays of the experts' matrix addresses (and scale addresses for a quantized format) in id order, so
 * one launch finds every expert's weights. Each projection of every expert of the layer has one
 * {@link Layout}: bf16, INT8 per channel, INT4 of one group size or FP8 of one block shape.
 */
record GroupedExperts(Matrices gates, Matrices ups, Matrices downs, int intermediateSize) {

    /**
     * What a grouped product reads of a format besides each expert's bytes and scales, the same for
     * every expert it runs: the kernel and the scalars it takes after the address arrays.
     */
    sealed interface Layout {
        String kernel();

        /** The kernel's arguments between the scales' addresses and the grouping. */
        Object[] parameters();

        record Bf16() implements Layout {
            public String kernel() {
                return "moe_linear_bf16";
            }

            public Object[] parameters() {
                return new Object[0];
            }
        }

        record Int8() implements Layout {
            public String kernel() {
                return "moe_linear_int8";
            }

            public Object[] parameters() {
                return new Object[0];
            }
        }

        record Int4(int groupSize) implements Layout {
            public String kernel() {
                return "moe_linear_int4";
            }

            public Object[] parameters() {
                return new Object[]{groupSize};
            }
        }

        record Fp8(int blockRows, int blockCols, int rowOffset) implements Layout {
            public String kernel() {
                return "moe_linear_fp8";
            }

            public Object[] parameters() {
                return new Object[]{blockRows, blockCols, rowOffset};
            }
        }

        /** The layout of a weight on the device; none for F32, which goes to the device as bf16. */
        static Optional<Layout> of(WeightFormat format) {
            return switch (format) {
                case WeightFormat.Bf16 b -> Optional.of(new Bf16());
                case WeightFormat.F32 f -> Optional.empty();
                case WeightFormat.Int8PerChannel q -> Optional.of(new Int8());
                case WeightFormat.Int4Grouped q -> Optional.of(new Int4(q.groupSize()));
                case WeightFormat.Fp8Block q -> Optional.of(new Fp8(q.blockRows(), q.blockCols(), q.rowOffset()));
            };
        }
    }

    /** One projection of every expert: {@code scales} is null for bf16. */
    record Matrices(DeviceBuffer data, DeviceBuffer scales, Layout layout) {
        void free(Gpu gpu) {
            gpu.free(data);
            if (scales != null) {
                gpu.free(scales);
            }
        }
    }

    /** Whether {@link #of} takes these experts: all here, each projection in one layout for all of them. */
    private static boolean groups(GpuExpert[] experts) {
        if (Arrays.stream(experts).anyMatch(e -> e == null)) {
            return false;
        }
        return sharedLayout(experts, GpuExpert::gate).isPresent() && sharedLayout(experts, GpuExpert::up).isPresent()
                && sharedLayout(experts, GpuExpert::down).isPresent();
    }

    private static Optional<Layout> sharedLayout(GpuExpert[] experts, Function<GpuExpert, DeviceWeight> projection) {
        Optional<Layout> first = Layout.of(projection.apply(experts[0]).format());
        boolean shared = Arrays.stream(experts).allMatch(e -> Layout.of(projection.apply(e).format()).equals(first));
        return shared ? first : Optional.empty();
    }

    /** The addresses of {@code experts}, every routed expert of the layer, as {@link #groups} requires. */
    static GroupedExperts of(Gpu gpu, int layer, GpuExpert[] experts) {
        if (!groups(experts)) {
            throw new IllegalStateException("layer " + layer + "'s routed experts are not all loaded here, or their formats "
                    + "differ: the device-resident loop's grouped products read every expert of a layer in one format");
        }
        return new GroupedExperts(matrices(gpu, experts, GpuExpert::gate), matrices(gpu, experts, GpuExpert::up),
                matrices(gpu, experts, GpuExpert::down), experts[0].intermediateSize());
    }

    private static Matrices matrices(Gpu gpu, GpuExpert[] experts, Function<GpuExpert, DeviceWeight> projection) {
        DeviceBuffer scales = projection.apply(experts[0]).scales() == null
                ? null
                : addresses(gpu, experts, e -> projection.apply(e).scales().address());
        return new Matrices(addresses(gpu, experts, e -> projection.apply(e).address()), scales,
                sharedLayout(experts, projection).orElseThrow());
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
