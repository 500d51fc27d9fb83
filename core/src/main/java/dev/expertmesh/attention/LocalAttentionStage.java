package dev.expertmesh.attention;

import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.tensor.Weight;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Attention for every layer in this process, each sequence's latent cache in blocks of one pool. */
public final class LocalAttentionStage implements ResidentAttentionStage {
    private final ModelConfig config;
    private final Backend backend;
    private final float[][] inputNorms;
    private final MlaAttention[] layers;
    private final LatentBlockPool pool;
    private final Map<Long, LatentKvCache> caches = new ConcurrentHashMap<>();
    private final BlockLedger ledger;

    private LocalAttentionStage(ModelConfig config, Backend backend, float[][] inputNorms, MlaAttention[] layers, LatentBlockPool pool) {
        this.config = config;
        this.backend = backend;
        this.inputNorms = inputNorms;
        this.layers = layers;
        this.pool = pool;
        this.ledger = new BlockLedger(pool.blockTokens(), pool.capacity(), 0);
    }

    /** With a pool bounded only by the heap. */
    public static LocalAttentionStage load(TensorSource weights, ModelConfig config, Backend backend, Arena arena) {
        return load(weights, config, backend, arena, LatentBlockPool.unbounded(config.numHiddenLayers(), config.latentCacheWidth()));
    }

    public static LocalAttentionStage load(TensorSource weights, ModelConfig config, Backend backend, Arena arena, LatentBlockPool pool) {
        if (pool.layers() != config.numHiddenLayers() || pool.width() != config.latentCacheWidth()) {
            throw new IllegalArgumentException("the latent block pool is for " + pool.layers() + " layers of width " + pool.width()
                    + " but the model has " + config.numHiddenLayers() + " layers of width " + config.latentCacheWidth());
        }
        int n = config.numHiddenLayers();
        YarnRope rope = new YarnRope(config);
        float[][] norms = new float[n][];
        MlaAttention[] layers = new MlaAttention[n];
        for (int layer = 0; layer < n; layer++) {
            norms[layer] = Weight.toFloats(weights.tensor("model.layers." + layer + ".input_layernorm.weight", config.hiddenSize()));
            layers[layer] = MlaAttention.load(weights, config, layer, rope, arena);
        }
        return new LocalAttentionStage(config, backend, norms, layers, pool);
    }

    public LatentBlockPool pool() {
        return pool;
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
        List<LatentKvCache> chunkCaches = new ArrayList<>(chunks.size());
        for (SequenceChunk chunk : chunks) {
            chunkCaches.add(caches.computeIfAbsent(chunk.sequenceId(), id -> new LatentKvCache(id, pool)));
        }
        return layers[layer].forward(backend, normed, chunks, chunkCaches, layer);
    }

    @Override
    public boolean reserve(long sequenceId, int tokens) {
        return ledger.reserve(sequenceId, tokens);
    }

    @Override
    public CacheUsage cacheUsage() {
        return ledger.usage();
    }

    @Override
    public CacheUsage blocksHeld() {
        return new CacheUsage(pool.blockTokens(), pool.capacity() - pool.freeBlocks(), pool.capacity());
    }

    @Override
    public void release(long sequenceId) {
        ledger.release(sequenceId);
        LatentKvCache cache = caches.remove(sequenceId);
        if (cache != null) {
            cache.free();
        }
    }

    @Override
    public void close() {
        caches.keySet().forEach(this::release);
    }
}
