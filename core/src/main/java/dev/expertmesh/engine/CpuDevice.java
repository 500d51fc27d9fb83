package dev.expertmesh.engine;

import dev.expertmesh.attention.LocalAttentionStage;
import dev.expertmesh.attention.ResidentAttentionStage;
import dev.expertmesh.backend.Backend;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertLoader;
import dev.expertmesh.moe.ExpertStage;
import dev.expertmesh.moe.LocalExpertStage;

import java.lang.foreign.Arena;
import java.lang.management.ManagementFactory;
import java.util.Map;

/** The host: the CPU backend, the latent cache in fp32 on the heap, experts mapped from the checkpoint anew for each placement. */
public final class CpuDevice implements ComputeDevice {
    private final Backend backend = new CpuBackend();

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public long memoryForWeights() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public ResidentAttentionStage attention(TensorSource weights, ModelConfig config, Arena arena, int blockTokens, int cacheBlocks) {
        return LocalAttentionStage.load(weights, config, backend, arena, blockTokens, cacheBlocks);
    }

    @Override
    public ExpertLoader experts(TensorSource weights, ModelConfig config, Arena arena) {
        return new ExpertLoader() {
            @Override
            public ExpertStage load(Map<Integer, int[]> routedByLayer) {
                return LocalExpertStage.load(weights, config, backend, arena, routedByLayer);
            }

            @Override
            public void close() {
                // Mapped checkpoint tensors only: the arena's owner frees them.
            }
        };
    }

    @Override
    public void close() {
        // Nothing held beyond the heap.
    }
}
