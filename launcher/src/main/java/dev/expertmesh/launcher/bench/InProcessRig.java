package dev.expertmesh.launcher.bench;

import dev.expertmesh.attention.CacheBlocks;
import dev.expertmesh.attention.ResidentAttentionStage;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.engine.ComputeDevice;
import dev.expertmesh.engine.DeepseekModel;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertLoader;
import dev.expertmesh.placement.HostedExperts;
import dev.expertmesh.quantization.QuantizationPlan;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Optional;

/**
 * The whole model in this process on one device, each step one micro-batch, as the single-process
 * engine runs it; routed and shared experts stored as a quantization says (on the CPU: the device
 * stages take no quantization yet).
 */
final class InProcessRig implements DecodeRig {
    private final CallLog log = new CallLog();
    private final Arena arena = Arena.ofShared();
    private final ResidentAttentionStage attention;
    private final ExpertLoader experts;
    private final DeepseekModel model;

    InProcessRig(ComputeDevice device, TensorSource weights, ModelConfig config, int cacheBlocks, QuantizationPlan plan) {
        TimedDevice timed = new TimedDevice(device, new CallTimer(log, Track::microBatch, Optional.empty()));
        attention = timed.attention(weights, config, arena, plan, CacheBlocks.DEFAULT_BLOCK_TOKENS, cacheBlocks);
        experts = timed.experts(weights, config, arena, plan);
        HostedExperts everyExpert = HostedExperts.striped(config, 0, 1);
        model = DeepseekModel.load(weights, config, device.backend(), arena, attention, experts.load(everyExpert.routedByLayer()), 1);
    }

    @Override
    public DeepseekModel model() {
        return model;
    }

    @Override
    public String deployment() {
        return "one process";
    }

    @Override
    public CallLog log() {
        return log;
    }

    @Override
    public List<TimeSplit.CallShare> shares(List<StageCall> calls) {
        return TimeSplit.inProcess(calls);
    }

    @Override
    public void close() {
        experts.close();
        attention.close();
        arena.close();
    }
}
