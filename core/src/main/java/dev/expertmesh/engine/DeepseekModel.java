package dev.expertmesh.engine;

import dev.expertmesh.attention.AttentionStage;
import dev.expertmesh.attention.LocalAttentionStage;
import dev.expertmesh.attention.SequenceChunk;
import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertRoutes;
import dev.expertmesh.moe.ExpertStage;
import dev.expertmesh.moe.LocalExpertStage;
import dev.expertmesh.moe.Router;
import dev.expertmesh.tensor.Weight;

import java.lang.foreign.Arena;
import java.util.List;

/**
 * The decoder: embeddings, then per layer an attention stage and an expert stage, then the final
 * norm and lm_head. The stages are the only place the layer's heavy math happens, so the cluster
 * swaps them for remote ones and keeps this loop.
 */
public final class DeepseekModel {
    private final ModelConfig config;
    private final Backend backend;
    private final Weight embedTokens;
    private final AttentionStage attention;
    private final float[][] postAttentionNorms;
    /** routers[layer], null for dense layers. */
    private final Router[] routers;
    private final ExpertStage experts;
    private final float[] finalNorm;
    private final Weight lmHead;

    public DeepseekModel(ModelConfig config, Backend backend, Weight embedTokens, AttentionStage attention,
                         float[][] postAttentionNorms, Router[] routers, ExpertStage experts, float[] finalNorm, Weight lmHead) {
        this.config = config;
        this.backend = backend;
        this.embedTokens = embedTokens;
        this.attention = attention;
        this.postAttentionNorms = postAttentionNorms;
        this.routers = routers;
        this.experts = experts;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
    }

    /** Every weight of the model from one source, run in this process. */
    public static DeepseekModel load(TensorSource weights, ModelConfig config, Backend backend, Arena arena) {
        return load(weights, config, backend, arena,
                LocalAttentionStage.load(weights, config, backend, arena),
                LocalExpertStage.load(weights, config, backend, arena));
    }

    /**
     * The model around the given stages (remote ones on a coordinator): loads only what runs
     * between them (embeddings, post-attention norms, routers, final norm, lm_head), never an
     * attention or expert weight.
     */
    public static DeepseekModel load(TensorSource weights, ModelConfig config, Backend backend, Arena arena,
                                     AttentionStage attention, ExpertStage experts) {
        int hidden = config.hiddenSize();
        int layers = config.numHiddenLayers();
        float[][] postNorms = new float[layers][];
        Router[] routers = new Router[layers];
        for (int layer = 0; layer < layers; layer++) {
            postNorms[layer] = Weight.toFloats(weights.tensor("model.layers." + layer + ".post_attention_layernorm.weight", hidden));
            if (config.isMoeLayer(layer)) {
                routers[layer] = Router.load(weights, config, layer, arena);
            }
        }
        Weight embed = Weight.of(weights.tensor("model.embed_tokens.weight", config.vocabSize(), hidden), arena);
        Weight lmHead = config.tieWordEmbeddings()
                ? embed
                : Weight.of(weights.tensor("lm_head.weight", config.vocabSize(), hidden), arena);
        return new DeepseekModel(config, backend, embed, attention, postNorms, routers, experts,
                Weight.toFloats(weights.tensor("model.norm.weight", hidden)), lmHead);
    }

    public ModelConfig config() {
        return config;
    }

    public Backend backend() {
        return backend;
    }

    /**
     * One forward step over the tokens of {@code chunks} (concatenated in order in {@code tokenIds}).
     * Returns logits [rows, vocab]: for every token when {@code allPositions}, else for each chunk's last.
     */
    public float[] forward(List<SequenceChunk> chunks, int[] tokenIds, boolean allPositions, LayerObserver observer) {
        int dim = config.hiddenSize();
        int rows = tokenIds.length;
        float[] hidden = embed(tokenIds);
        observer.hiddenStates(-1, hidden);
        float[] normed = new float[hidden.length];
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            hidden = attention.forward(layer, chunks, hidden);
            for (int r = 0; r < rows; r++) {
                backend.rmsNorm(hidden, r * dim, postAttentionNorms[layer], (float) config.rmsNormEps(), normed, r * dim);
            }
            float[] expertOut = experts.forward(layer, normed, routes(layer, normed, rows, observer));
            backend.axpy(1f, expertOut, 0, hidden, 0, hidden.length);
            observer.hiddenStates(layer, hidden);
        }
        return logits(hidden, chunks, allPositions, observer);
    }

    /** The layer's routes with the shared expert appended; a dense layer sends every token to its MLP. */
    private ExpertRoutes routes(int layer, float[] normed, int rows, LayerObserver observer) {
        if (routers[layer] == null) {
            return ExpertRoutes.everyToken(rows, 0);
        }
        ExpertRoutes routed = routers[layer].route(backend, normed, rows);
        observer.routed(layer, routed);
        return config.nSharedExperts() > 0 ? routed.plusEveryToken(config.nRoutedExperts()) : routed;
    }

    private float[] embed(int[] tokenIds) {
        int dim = config.hiddenSize();
        float[] hidden = new float[tokenIds.length * dim];
        for (int r = 0; r < tokenIds.length; r++) {
            int id = tokenIds[r];
            if (id < 0 || id >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + config.vocabSize() + ")");
            }
            embedTokens.copyRow(id, hidden, r * dim);
        }
        return hidden;
    }

    private float[] logits(float[] hidden, List<SequenceChunk> chunks, boolean allPositions, LayerObserver observer) {
        int dim = config.hiddenSize();
        int rows = allPositions ? hidden.length / dim : chunks.size();
        float[] normed = new float[rows * dim];
        int chunkEndRow = 0;
        for (int r = 0; r < rows; r++) {
            int source = r;
            if (!allPositions) {
                chunkEndRow += chunks.get(r).length();
                source = chunkEndRow - 1;
            }
            backend.rmsNorm(hidden, source * dim, finalNorm, (float) config.rmsNormEps(), normed, r * dim);
        }
        observer.hiddenStates(config.numHiddenLayers(), normed);
        float[] logits = new float[rows * config.vocabSize()];
        backend.matmul(lmHead, normed, rows, logits);
        return logits;
    }

    /** Frees the sequence's cache in the attention stage. */
    public void release(long sequenceId) {
        attention.release(sequenceId);
    }
}
