package dev.expertmesh.launcher.bench;

import dev.expertmesh.attention.ResidentAttentionStage;
import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.engine.ComputeDevice;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertLoader;
import dev.expertmesh.moe.ExpertStage;
import dev.expertmesh.quantization.QuantizationPlan;

import java.lang.foreign.Arena;
import java.util.Map;

/**
 * A compute device whose stages run and log their calls as {@code timer} says: what a node of the
 * benchmark computes on. Several share one device, which its owner closes, so closing this closes
 * nothing.
 */
record TimedDevice(ComputeDevice device, CallTimer timer) implements ComputeDevice {

    @Override
    public String name() {
        return device.name();
    }

    @Override
    public long memoryForWeights() {
        return device.memoryForWeights();
    }

    @Override
    public Backend backend() {
        return device.backend();
    }

    @Override
    public ResidentAttentionStage attention(TensorSource weights, ModelConfig config, Arena arena, QuantizationPlan plan,
                                            int blockTokens, int cacheBlocks) {
        return new TimedResidentAttentionStage(device.attention(weights, config, arena, plan, blockTokens, cacheBlocks),
                timer);
    }

    @Override
    public ExpertLoader experts(TensorSource weights, ModelConfig config, Arena arena, QuantizationPlan plan) {
        ExpertLoader loader = device.experts(weights, config, arena, plan);
        return new ExpertLoader() {
            @Override
            public ExpertStage load(Map<Integer, int[]> routedByLayer) {
                return new TimedExpertStage(loader.load(routedByLayer), timer);
            }

            @Override
            public void close() {
                loader.close();
            }
        };
    }

    @Override
    public void close() {
        // The device's owner closes it, after every node that shares it.
    }
}
