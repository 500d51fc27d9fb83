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
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.stream.IntStream;

/**
 * Experts on a GPU. Per call: the rows go up once, are gathered so each expert's rows are
 * contiguous, each expert runs its gate and up products (side by side in one buffer), silu_mul and
 * its down product (a loop over the experts with rows, in id order), and moe_combine adds every
 * row's weighted expert outputs in route order.
 */
public final class CudaExpertStage implements ExpertStage, AutoCloseable {
    private final GpuQueue queue;
    private final TensorSource weights;
    private final ModelConfig config;
    private final Arena arena;
    private final QuantizationPlan quantizationPlan;
    /** experts[layer][id], ids as in {@link ExpertRoutes}; null where not hosted here. */
    private final GpuExpert[][] experts;

    private CudaExpertStage(GpuQueue queue, TensorSource weights, ModelConfig config, Arena arena, QuantizationPlan plan,
                            GpuExpert[][] experts) {
        this.queue = queue;
        this.weights = weights;
        this.config = config;
        this.arena = arena;
        this.quantizationPlan = plan;
        this.experts = experts;
    }

    /** Every expert of every layer, stored as {@code plan} says. */
    public static CudaExpertStage load(Gpu gpu, TensorSource weights, ModelConfig config, Arena arena, QuantizationPlan plan) {
        Map<Integer, int[]> all = new HashMap<>();
        int[] everyRouted = IntStream.range(0, config.nRoutedExperts()).toArray();
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            all.put(layer, everyRouted);
        }
        return load(gpu, weights, config, arena, all, plan);
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
        CudaExpertStage stage = new CudaExpertStage(new GpuQueue(gpu), weights, config, arena, plan, experts);
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

    @Override
    public synchronized void close() {
        queue.begin();
        for (GpuExpert[] layer : experts) {
            for (GpuExpert expert : layer) {
                if (expert != null) {
                    expert.free(queue.gpu());
                }
            }
        }
        queue.close();
    }
}
