package dev.expertmesh.launcher.bench;

import dev.expertmesh.attention.CacheBlocks;
import dev.expertmesh.attention.ResidentAttentionStage;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.engine.ComputeDevice;
import dev.expertmesh.engine.DeepseekModel;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertLoader;
import dev.expertmesh.moe.ExpertStage;
import dev.expertmesh.moe.LocalExpertStage;
import dev.expertmesh.placement.HostedExperts;
import dev.expertmesh.quantization.Quantization;

import java.lang.foreign.Arena;

/**
 * The whole model in this process on one device, each step one micro-batch, as the single-process
 * engine runs it; routed and shared experts stored as a quantization says (on the CPU: the device
 * stages take no quantization yet).
 */
final class InProcessRig implements DecodeRig {
    private final StageClock clock = new StageClock();
    private final Arena arena = Arena.ofShared();
    private final ResidentAttentionStage attention;
    private final ExpertLoader experts;
    private final DeepseekModel model;

    InProcessRig(ComputeDevice device, TensorSource weights, ModelConfig config, int cacheBlocks, Quantization quantization) {
        TimedDevice timed = new TimedDevice(device, clock);
        attention = timed.attention(weights, config, arena, CacheBlocks.DEFAULT_BLOCK_TOKENS, cacheBlocks);
        experts = timed.experts(weights, config, arena);
        HostedExperts everyExpert = HostedExperts.striped(config, 0, 1);
        ExpertStage stage = quantization == Quantization.NONE ? experts.load(everyExpert.routedByLayer())
                : new TimedExpertStage(LocalExpertStage.load(weights, config, device.backend(), arena, everyExpert.routedByLayer(),
                quantization), clock.expertNanos());
        model = DeepseekModel.load(weights, config, device.backend(), arena, attention, stage, 1);
    }

    @Override
    public DeepseekModel model() {
        return model;
    }

    @Override
    public void resetClocks() {
        clock.reset();
    }

    @Override
    public TimeSplit split() {
        return new TimeSplit(clock.attention(), clock.experts(), 0);
    }

    @Override
    public void close() {
        experts.close();
        attention.close();
        arena.close();
    }
}
