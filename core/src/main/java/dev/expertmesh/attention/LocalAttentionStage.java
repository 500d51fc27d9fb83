package dev.expertmesh.attention;

import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.QuantizationPlan;
import dev.expertmesh.tensor.Weight;

import java.lang.foreign.Arena;
import java.util.List;

/** Attention for every layer in this process, each sequence's latent cache in blocks on the heap. */
public final class LocalAttentionStage implements ResidentAttentionStage {
    private final ModelConfig config;
    private final Backend backend;
    private final float[][] inputNorms;
    private final MlaAttention[] layers;
    private final CacheBlocks blocks;
    private final LatentBlockStore store;

    private LocalAttentionStage(ModelConfig config, Backend backend, float[][] inputNorms, MlaAttention[] layers, CacheBlocks blocks) {
        this.config = config;
        this.backend = backend;
        this.inputNorms = inputNorms;
        this.layers = layers;
        this.blocks = blocks;
        this.store = new LatentBlockStore(config.numHiddenLayers(), blocks.blockTokens(), config.latentCacheWidth());
    }

    /** With a cache bounded only by the heap; the projections stored as {@code plan} says of attention. */
    public static LocalAttentionStage load(TensorSource weights, ModelConfig config, Backend backend, Arena arena,
                                           QuantizationPlan plan) {
        return load(weights, config, backend, arena, plan, CacheBlocks.unbounded(config.numHiddenLayers()));
    }

    /** With a cache of {@code totalBlocks} blocks of {@code blockTokens} positions. */
    public static LocalAttentionStage load(TensorSource weights, ModelConfig config, Backend backend, Arena arena,
                                           QuantizationPlan plan, int blockTokens, int totalBlocks) {
        return load(weights, config, backend, arena, plan, new CacheBlocks(config.numHiddenLayers(), blockTokens, totalBlocks));
    }

    private static LocalAttentionStage load(TensorSource weights, ModelConfig config, Backend backend, Arena arena,
                                            QuantizationPlan plan, CacheBlocks blocks) {
        int n = config.numHiddenLayers();
        YarnRope rope = new YarnRope(config);
        float[][] norms = new float[n][];
        MlaAttention[] layers = new MlaAttention[n];
        for (int layer = 0; layer < n; layer++) {
            norms[layer] = Weight.toFloats(weights.tensor("model.layers." + layer + ".input_layernorm.weight", config.hiddenSize()));
            layers[layer] = MlaAttention.load(weights, config, layer, rope, arena, plan.attentionAndDense());
        }
        return new LocalAttentionStage(config, backend, norms, layers, blocks);
    }

    @Override
    public float[] forward(int layer, int microBatch, List<SequenceChunk> chunks, float[] hidden) {
        float[] out = attentionOutput(layer, chunks, hidden);
        backend.axpy(1f, hidden, 0, out, 0, hidden.length);
        return out;
    }

    @Override
    public float[] attentionOutput(int layer, List<SequenceChunk> chunks, float[] hidden) {
        int dim = config.hiddenSize();
        int rows = hidden.length / dim;
        float[] normed = new float[hidden.length];
        for (int r = 0; r < rows; r++) {
            backend.rmsNorm(hidden, r * dim, inputNorms[layer], (float) config.rmsNormEps(), normed, r * dim);
        }
        blocks.write(layer, chunks);
        List<LatentRows> caches = chunks.stream().map(c -> store.rows(blocks.blocks(c.sequenceId()), layer)).toList();
        return layers[layer].forward(backend, normed, chunks, caches);
    }

    @Override
    public boolean reserve(long sequenceId, int tokens) {
        return blocks.reserve(sequenceId, tokens);
    }

    @Override
    public CacheUsage cacheUsage() {
        return blocks.reserved();
    }

    @Override
    public CacheUsage blocksHeld() {
        return blocks.held();
    }

    @Override
    public void release(long sequenceId) {
        blocks.release(sequenceId);
    }

    @Override
    public void close() {
        blocks.releaseAll();
    }
}
