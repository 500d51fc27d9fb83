package dev.expertmesh.engine;

import dev.expertmesh.attention.ResidentAttentionStage;
import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertLoader;
import dev.expertmesh.quantization.QuantizationPlan;

import java.lang.foreign.Arena;

/**
 * What a cluster node computes on: the backend between stages, and the attention and expert
 * stages a worker serves, on the host ({@link CpuDevice}) or on a GPU (the cuda module's). The
 * roles take one of these, so that none of them depends on the module of a device. Close it after
 * the nodes that use it.
 */
public interface ComputeDevice extends AutoCloseable {

    /** Its name in node descriptors and logs: cpu, cuda:0. */
    String name();

    /** What a node offers for weights: the GPU's memory, or the machine's. */
    long memoryForWeights();

    Backend backend();

    /**
     * Every layer's attention over {@code weights}, its projections stored as {@code plan} says, with a
     * latent cache of {@code cacheBlocks} blocks of {@code blockTokens} positions. {@code weights} and
     * {@code arena} must outlive it.
     */
    ResidentAttentionStage attention(TensorSource weights, ModelConfig config, Arena arena, QuantizationPlan plan,
                                     int blockTokens, int cacheBlocks);

    /**
     * Experts as an expert worker hosts them, placement after placement, each stored as {@code plan}
     * says. {@code weights} and {@code arena} must outlive it.
     */
    ExpertLoader experts(TensorSource weights, ModelConfig config, Arena arena, QuantizationPlan plan);

    @Override
    void close();
}
