package dev.expertmesh.cuda.stage;

import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.cuda.runtime.DeviceBuffer;
import dev.expertmesh.cuda.runtime.Gpu;
import dev.expertmesh.cuda.runtime.GpuQueue;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.Expert;
import dev.expertmesh.moe.ExpertRoutes;
import dev.expertmesh.moe.ExpertStage;
import dev.expertmesh.quantization.Quantization;
import dev.expertmesh.quantization.QuantizationPlan;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.IntStream;

/**
 * Experts on a GPU. Per call: the rows go up once, are gathered so each expert's rows are
 * contiguous, each expert runs its gate and up products (side by side in one buffer), silu_mul and
 * its down product (a loop over the experts with rows, in id order), and moe_combine adds every
 * row's weighted expert outputs in route order. The device-resident loop calls {@link #addExperts}
 * instead, with the routes in device memory: moe_align groups them and a grouped product
 * (moe_linear_bf16, or moe_linear_int8, moe_linear_int4, moe_linear_fp8 for quantized experts) runs
 * every expert's projection in one launch, so the host never sees the routes.
 */
public final class CudaExpertStage implements ExpertStage, AutoCloseable {
    /** Output rows a block of the grouped products computes: one a warp (GROUPED_WARPS in moe.cu, WARPS_PER_BLOCK in quantized_linear.cu). */
    private static final int GROUPED_WARPS = 4;
    private final GpuQueue queue;
    /** Whether closing the stage closes the queue (not when it shares the queue of a device-resident loop). */
    private final boolean ownsQueue;
    private final TensorSource weights;
    private final ModelConfig config;
    private final Arena arena;
    private final QuantizationPlan quantizationPlan;
    /** experts[layer][id], ids as in {@link ExpertRoutes}; null where not hosted here. */
    private final GpuExpert[][] experts;
    /** grouped[layer]: the layer's routed experts as moe_linear_bf16 reads them, made on first use; null until then. */
    private final GroupedExperts[] grouped;

    private CudaExpertStage(GpuQueue queue, boolean ownsQueue, TensorSource weights, ModelConfig config, Arena arena,
                            QuantizationPlan plan, GpuExpert[][] experts) {
        this.queue = queue;
        this.ownsQueue = ownsQueue;
        this.grouped = new GroupedExperts[experts.length];
        this.weights = weights;
        this.config = config;
        this.arena = arena;
        this.quantizationPlan = plan;
        this.experts = experts;
    }

    /** Every expert of every layer, stored as {@code plan} says. */
    public static CudaExpertStage load(Gpu gpu, TensorSource weights, ModelConfig config, Arena arena, QuantizationPlan plan) {
        return load(new GpuQueue(gpu), true, weights, config, arena, everyRoutedExpert(config), plan);
    }

    /** Every expert of every layer, its work on {@code queue}, which its owner closes. */
    static CudaExpertStage onQueue(GpuQueue queue, TensorSource weights, ModelConfig config, Arena arena, QuantizationPlan plan) {
        return load(queue, false, weights, config, arena, everyRoutedExpert(config), plan);
    }

    private static Map<Integer, int[]> everyRoutedExpert(ModelConfig config) {
        Map<Integer, int[]> all = new HashMap<>();
        int[] everyRouted = IntStream.range(0, config.nRoutedExperts()).toArray();
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            all.put(layer, everyRouted);
        }
        return all;
    }

    /**
     * Only the routed experts {@code routedByLayer} names for each MoE layer, plus every shared
     * expert and dense MLP: an expert worker uploads nothing else. Routed and shared experts are
     * stored as {@code plan} says of experts, dense MLPs as it says of attention and dense layers (as
     * on the CPU: quantized on the host, uploaded packed). {@code weights} and {@code arena} must
     * outlive the stage, which reads from them again when {@link #host} adds experts.
     */
    public static CudaExpertStage load(Gpu gpu, TensorSource weights, ModelConfig config, Arena arena, Map<Integer, int[]> routedByLayer,
                                       QuantizationPlan plan) {
        return load(new GpuQueue(gpu), true, weights, config, arena, routedByLayer, plan);
    }

    private static CudaExpertStage load(GpuQueue queue, boolean ownsQueue, TensorSource weights, ModelConfig config, Arena arena,
                                        Map<Integer, int[]> routedByLayer, QuantizationPlan plan) {
        Gpu gpu = queue.gpu();
        int hidden = config.hiddenSize();
        GpuExpert[][] experts = new GpuExpert[config.numHiddenLayers()][];
        for (int layer = 0; layer < experts.length; layer++) {
            String mlp = "model.layers." + layer + ".mlp.";
            if (!config.isMoeLayer(layer)) {
                experts[layer] = new GpuExpert[]{uploadQuantized(gpu, Expert.load(weights, mlp, hidden, config.intermediateSize(), arena),
                        plan.attentionAndDense())};
                continue;
            }
            int routed = config.nRoutedExperts();
            experts[layer] = new GpuExpert[routed + (config.nSharedExperts() > 0 ? 1 : 0)];
            if (config.nSharedExperts() > 0) {
                experts[layer][routed] = uploadQuantized(gpu, Expert.load(weights, mlp + "shared_experts.", hidden,
                        config.moeIntermediateSize() * config.nSharedExperts(), arena), plan.experts());
            }
        }
        CudaExpertStage stage = new CudaExpertStage(queue, ownsQueue, weights, config, arena, plan, experts);
        stage.host(routedByLayer);
        return stage;
    }

    /**
     * From now on, hosts the routed experts {@code routedByLayer} names: uploads those not here yet
     * and frees those no longer named, keeping the rest on the device. A call routing rows to a
     * freed expert is refused.
     */
    public synchronized void host(Map<Integer, int[]> routedByLayer) {
        queue.begin();
        freeGrouped();
        Rehosting.apply(experts, config, routedByLayer, (layer, id) -> uploadQuantized(queue.gpu(), Expert.load(weights,
                "model.layers." + layer + ".mlp.experts." + id + ".", config.hiddenSize(), config.moeIntermediateSize(), arena),
                quantizationPlan.experts()), expert -> expert.free(queue.gpu()));
    }

    /** The expert on the device as {@code quantization} stores it; the host's quantized bytes are dropped once uploaded. */
    private static GpuExpert uploadQuantized(Gpu gpu, Expert expert, Quantization quantization) {
        try (Arena quantized = Arena.ofShared()) {
            return GpuExpert.upload(gpu, expert.quantized(quantization, quantized));
        }
    }

    @Override
    public synchronized float[] forward(int layer, int microBatch, float[] x, ExpertRoutes routes) {
        queue.begin();
        int rows = routes.tokens();
        int hidden = x.length / rows;
        GpuExpert[] layerExperts = experts[layer];
        RowPlan plan = RowPlan.of(routes, layerExperts.length);
        for (int id = 0; id < layerExperts.length; id++) {
            if (plan.count(id) > 0 && layerExperts[id] == null) {
                throw new IllegalArgumentException("expert " + id + " of layer " + layer + " is not loaded here");
            }
        }
        DeviceBuffer input = queue.upload("x", x);
        DeviceBuffer inputBf16 = queue.bf16s("x_bf16", x.length);
        queue.toBf16(input.address(), inputBf16.address(), x.length);
        DeviceBuffer out = queue.floats("out", x.length);
        queue.zero(out.address(), (long) x.length * Float.BYTES);
        int gathered = plan.gatheredRows();
        if (gathered > 0) {
            DeviceBuffer expertOut = expertOutputs(layerExperts, plan, inputBf16, hidden);
            queue.launch("moe_combine", rows, 1, 256, expertOut, queue.upload("slots", plan.slots()),
                    queue.upload("weights", routes.weights()), out, rows, routes.k(), hidden);
        }
        return queue.downloadFloats(out.address(), x.length);
    }

    /** [gathered rows, hidden]: each expert's output for its rows, at the rows' places in the plan. */
    private DeviceBuffer expertOutputs(GpuExpert[] layerExperts, RowPlan plan, DeviceBuffer inputBf16, int hidden) {
        int gathered = plan.gatheredRows();
        int widest = Arrays.stream(layerExperts).filter(Objects::nonNull).mapToInt(GpuExpert::intermediateSize).max().orElseThrow();
        DeviceBuffer rowsBf16 = queue.bf16s("gathered", (long) gathered * hidden);
        queue.launch("moe_gather", gathered, 1, 256, inputBf16, queue.upload("source_rows", plan.sourceRows()), rowsBf16,
                gathered, hidden);
        DeviceBuffer gateUp = queue.floats("gate_up", (long) gathered * 2 * widest);
        DeviceBuffer activated = queue.bf16s("activated", (long) gathered * widest);
        DeviceBuffer expertOut = queue.floats("expert_out", (long) gathered * hidden);
        for (int id = 0; id < layerExperts.length; id++) {
            int count = plan.count(id);
            if (count == 0) {
                continue;
            }
            GpuExpert expert = layerExperts[id];
            int inter = expert.intermediateSize();
            long firstRow = plan.firstRow(id);
            long rowsAt = rowsBf16.at(firstRow * hidden * GpuQueue.BF16_BYTES);
            queue.linear(expert.gate(), rowsAt, hidden, count, gateUp.address(), 2 * inter);
            queue.linear(expert.up(), rowsAt, hidden, count, gateUp.at((long) inter * Float.BYTES), 2 * inter);
            queue.launch("silu_mul", count, 1, 256, gateUp, activated, count, inter);
            queue.linear(expert.down(), activated.address(), inter, count, expertOut.at(firstRow * hidden * Float.BYTES));
        }
        return expertOut;
    }

    /**
     * Adds the layer's MLP output for its rows to {@code hidden} (fp32 [rows, hidden], device memory),
     * on the stage's queue: {@code normed} [rows, hidden] bf16 is the MLP's input, {@code expertIds}
     * and {@code routeWeights} [rows, top_k] the routes route_topk chose (ignored in a dense layer).
     * The routed experts must all be here, each projection in one format (see {@link GroupedExperts}).
     */
    synchronized void addExperts(int layer, long normed, int rows, long expertIds, long routeWeights, long hidden) {
        int dim = config.hiddenSize();
        GpuExpert[] layerExperts = experts[layer];
        if (config.isMoeLayer(layer)) {
            addRouted(layer, normed, rows, expertIds, routeWeights, hidden);
        }
        GpuExpert everyToken = layerExperts[layerExperts.length - 1];
        if (!config.isMoeLayer(layer) || config.nSharedExperts() > 0) {
            DeviceBuffer out = queue.floats("dense_out", (long) rows * dim);
            denseForward(everyToken, normed, rows, out.address());
            queue.addInto(hidden, out.address(), (long) rows * dim);
        }
    }

    /** hidden += Σ_j weight_j·expert_j(normed) over each row's routed experts, grouped on the device. */
    private void addRouted(int layer, long normed, int rows, long expertIds, long routeWeights, long hidden) {
        GroupedExperts group = grouped(layer);
        int dim = config.hiddenSize();
        int k = config.numExpertsPerTok();
        int routes = rows * k;
        int inter = group.intermediateSize();
        int routed = config.nRoutedExperts();
        DeviceBuffer offsets = queue.scratch("grouped_offsets", (long) (routed + 1) * Integer.BYTES);
        DeviceBuffer sorted = queue.scratch("grouped_sorted", (long) routes * Integer.BYTES);
        DeviceBuffer slots = queue.scratch("grouped_slots", (long) routes * Integer.BYTES);
        queue.launch("moe_align", 1, 1, 1024, expertIds, routes, routed, offsets, sorted, slots);
        DeviceBuffer gateUp = queue.floats("grouped_gate_up", (long) routes * 2 * inter);
        Grouping grouping = new Grouping(offsets.address(), sorted.address(), routed);
        groupedLinear(group.gates(), grouping, normed, dim, k, gateUp.address(), 2 * inter, inter);
        groupedLinear(group.ups(), grouping, normed, dim, k, gateUp.at((long) inter * Float.BYTES), 2 * inter, inter);
        DeviceBuffer activated = queue.bf16s("grouped_activated", (long) routes * inter);
        queue.launch("silu_mul", routes, 1, 256, gateUp, activated, routes, inter);
        DeviceBuffer expertOut = queue.floats("grouped_out", (long) routes * dim);
        groupedLinear(group.downs(), grouping, activated.address(), inter, 0, expertOut.address(), dim, dim);
        queue.launch("moe_combine", rows, 1, 256, expertOut, slots, routeWeights, hidden, rows, k, dim);
    }

    /** Where moe_align left a layer's routes grouped by expert: offsets [experts + 1] and sorted routes. */
    private record Grouping(long offsets, long sorted, int experts) {
    }

    /**
     * out[p] (rows {@code outStride} floats apart) = x[row(p)]·W_eᵀ for every expert e and position p of
     * its routes, W_e [outputs, cols] one projection, x packed bf16 rows of {@code cols}; row(p) is the
     * route's token when {@code gatherK} > 0 (x holds a row per token), else p (a row per sorted route).
     */
    private void groupedLinear(GroupedExperts.Matrices w, Grouping grouping, long x, int cols, int gatherK, long out, int outStride,
                               int outputs) {
        int grid = (outputs + GROUPED_WARPS - 1) / GROUPED_WARPS;
        int block = 32 * GROUPED_WARPS;
        List<Object> args = new ArrayList<>();
        args.add(w.data());
        if (w.scales() != null) {
            args.add(w.scales());
        }
        args.addAll(List.of(w.layout().parameters()));
        args.addAll(List.of(grouping.offsets(), grouping.sorted(), x, cols, gatherK, out, outStride, outputs, cols, grouping.experts()));
        queue.launch(w.layout().kernel(), grid, grouping.experts(), block, args.toArray());
    }

    /** out [rows, hidden] = the expert's output for every row of {@code normed}. */
    private void denseForward(GpuExpert expert, long normed, int rows, long out) {
        int dim = config.hiddenSize();
        int inter = expert.intermediateSize();
        DeviceBuffer gateUp = queue.floats("dense_gate_up", (long) rows * 2 * inter);
        queue.linear(expert.gate(), normed, dim, rows, gateUp.address(), 2 * inter);
        queue.linear(expert.up(), normed, dim, rows, gateUp.at((long) inter * Float.BYTES), 2 * inter);
        DeviceBuffer activated = queue.bf16s("dense_activated", (long) rows * inter);
        queue.launch("silu_mul", rows, 1, 256, gateUp, activated, rows, inter);
        queue.linear(expert.down(), activated.address(), inter, rows, out);
    }

    private GroupedExperts grouped(int layer) {
        if (grouped[layer] == null) {
            grouped[layer] = GroupedExperts.of(queue.gpu(), layer, Arrays.copyOf(experts[layer], config.nRoutedExperts()));
        }
        return grouped[layer];
    }

    private void freeGrouped() {
        for (int layer = 0; layer < grouped.length; layer++) {
            if (grouped[layer] != null) {
                grouped[layer].free(queue.gpu());
                grouped[layer] = null;
            }
        }
    }

    @Override
    public synchronized void close() {
        queue.begin();
        queue.synchronize();
        freeGrouped();
        for (GpuExpert[] layer : experts) {
            for (GpuExpert expert : layer) {
                if (expert != null) {
                    expert.free(queue.gpu());
                }
            }
        }
        if (ownsQueue) {
            queue.close();
        }
    }
}
