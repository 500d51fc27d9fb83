package dev.expertmesh.engine;

import dev.expertmesh.attention.LocalAttentionStage;
import dev.expertmesh.attention.ResidentAttentionStage;
import dev.expertmesh.backend.Backend;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertLoader;
import dev.expertmesh.moe.LocalExpertLoader;
import dev.expertmesh.quantization.QuantizationPlan;

import java.lang.foreign.Arena;
import java.lang.management.ManagementFactory;

/** The host: the CPU backend, the latent cache in fp32 on the heap, each routed expert loaded once and kept while placements keep it. */
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
    public ResidentAttentionStage attention(TensorSource weights, ModelConfig config, Arena arena, QuantizationPlan plan,
                                            int blockTokens, int cacheBlocks) {
        return LocalAttentionStage.load(weights, config, backend, arena, plan, blockTokens, cacheBlocks);
    }

    @Override
    public ExpertLoader experts(TensorSource weights, ModelConfig config, Arena arena, QuantizationPlan plan) {
        return new LocalExpertLoader(weights, config, backend, arena, plan);
    }

    @Override
    public void close() {
        // Nothing held beyond the heap.
    }
}
