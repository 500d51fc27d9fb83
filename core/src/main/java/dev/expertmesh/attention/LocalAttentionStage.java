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

/** Attention for every layer in this process, with a latent cache per sequence. */
public final class LocalAttentionStage implements AttentionStage {
    private final ModelConfig config;
    private final Backend backend;
    private final float[][] inputNorms;
    private final MlaAttention[] layers;
    private final Map<Long, LatentKvCache> caches = new ConcurrentHashMap<>();

    private LocalAttentionStage(ModelConfig config, Backend backend, float[][] inputNorms, MlaAttention[] layers) {
        this.config = config;
        this.backend = backend;
        this.inputNorms = inputNorms;
        this.layers = layers;
    }

    public static LocalAttentionStage load(TensorSource weights, ModelConfig config, Backend backend, Arena arena) {
        int n = config.numHiddenLayers();
        YarnRope rope = new YarnRope(config);
        float[][] norms = new float[n][];
        MlaAttention[] layers = new MlaAttention[n];
        for (int layer = 0; layer < n; layer++) {
            norms[layer] = Weight.toFloats(weights.tensor("model.layers." + layer + ".input_layernorm.weight", config.hiddenSize()));
            layers[layer] = MlaAttention.load(weights, config, layer, rope, arena);
        }
        return new LocalAttentionStage(config, backend, norms, layers);
    }

    @Override
    public float[] forward(int layer, List<SequenceChunk> chunks, float[] hidden) {
        int dim = config.hiddenSize();
        int rows = hidden.length / dim;
        float[] normed = new float[hidden.length];
        for (int r = 0; r < rows; r++) {
            backend.rmsNorm(hidden, r * dim, inputNorms[layer], (float) config.rmsNormEps(), normed, r * dim);
        }
        List<LatentKvCache> chunkCaches = new ArrayList<>(chunks.size());
        for (SequenceChunk chunk : chunks) {
            chunkCaches.add(caches.computeIfAbsent(chunk.sequenceId(),
                    id -> new LatentKvCache(config.numHiddenLayers(), config.latentCacheWidth(), chunk.end())));
        }
        float[] out = layers[layer].forward(backend, normed, chunks, chunkCaches, layer);
        backend.axpy(1f, hidden, 0, out, 0, hidden.length);
        return out;
    }

    @Override
    public void release(long sequenceId) {
        caches.remove(sequenceId);
    }
}
