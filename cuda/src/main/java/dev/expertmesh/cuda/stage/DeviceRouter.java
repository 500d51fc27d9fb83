package dev.expertmesh.cuda.stage;

import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.cuda.runtime.DeviceBuffer;
import dev.expertmesh.cuda.runtime.DeviceWeight;
import dev.expertmesh.cuda.runtime.Gpu;
import dev.expertmesh.cuda.runtime.GpuQueue;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.Router;
import dev.expertmesh.moe.Routing;

import java.lang.foreign.Arena;

/**
 * A MoE layer's gate on the device: core's {@link Router} (loaded by it, so config.json is read in
 * one place) with its gate weight and correction bias uploaded, run as a cuBLAS product and route_topk.
 */
record DeviceRouter(DeviceWeight gate, DeviceBuffer correctionBias, int method, int groups, int topkGroups, int scoring,
                    int topK, boolean normalize, float scalingFactor) {

    /** Where route_topk left a step's routes: [rows, top_k] expert ids (int) and gate values (fp32). */
    record Routes(long expertIds, long weights) {
    }

    static DeviceRouter load(Gpu gpu, TensorSource weights, ModelConfig config, int layer, Arena arena) {
        Router router = Router.load(weights, config, layer, arena);
        DeviceWeight gate = DeviceWeight.upload(gpu, router.gate());
        int scoring = switch (router.scoring()) {
            case SOFTMAX -> 0;
            case SIGMOID -> 1;
        };
        return switch (router.routing()) {
            case Routing.Greedy g -> new DeviceRouter(gate, null, 0, 1, 1, scoring, router.topK(), router.normalize(),
                    router.scalingFactor());
            case Routing.GroupLimitedGreedy g -> new DeviceRouter(gate, null, 1, g.nGroup(), g.topkGroup(), scoring, router.topK(),
                    router.normalize(), router.scalingFactor());
            case Routing.NoAuxTc n -> new DeviceRouter(gate, gpu.upload(n.correctionBias()), 2, n.nGroup(), n.topkGroup(), scoring,
                    router.topK(), router.normalize(), router.scalingFactor());
        };
    }

    /** The routes of the rows of {@code normed} ([rows, hidden] bf16), in the queue's scratch. */
    Routes route(GpuQueue queue, long normed, int rows) {
        int experts = gate.rows();
        DeviceBuffer logits = queue.floats("router_logits", (long) rows * experts);
        queue.linear(gate, normed, gate.cols(), rows, logits.address());
        DeviceBuffer ids = queue.scratch("router_ids", (long) rows * topK * Integer.BYTES);
        DeviceBuffer weights = queue.floats("router_weights", (long) rows * topK);
        queue.launch("route_topk", rows, 1, 256, logits, correctionBias == null ? 0L : correctionBias.address(), ids, weights, rows,
                experts, topK, method, groups, topkGroups, scoring, normalize ? 1 : 0, scalingFactor);
        return new Routes(ids.address(), weights.address());
    }

    void free(Gpu gpu) {
        gate.free(gpu);
        if (correctionBias != null) {
            gpu.free(correctionBias);
        }
    }
}
