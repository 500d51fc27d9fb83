package dev.expertmesh.engine;

import dev.expertmesh.attention.AttentionStage;
import dev.expertmesh.attention.CacheUsage;
import dev.expertmesh.attention.LocalAttentionStage;
import dev.expertmesh.attention.SequenceChunk;
import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertRoutes;
import dev.expertmesh.moe.ExpertStage;
import dev.expertmesh.moe.LocalExpertStage;
import dev.expertmesh.moe.Router;
import dev.expertmesh.quantization.QuantizationPlan;
import dev.expertmesh.tensor.Weight;

import java.lang.foreign.Arena;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The decoder: embeddings, then per layer an attention stage and an expert stage, then the final
 * norm and lm_head. The stages are the only place the layer's heavy math happens, so the cluster
 * swaps them for remote ones and keeps this loop.
 *
 * <p>With several micro-batches a step's sequences go through the layers as that many independent
 * chains, each started once the one before has had its first attention, so that while one
 * micro-batch is in the expert stage the next is in the attention stage: remote stages then work
 * at the same time instead of waiting on each other.
 */
public final class DeepseekModel {
    /**
     * Sequence ids start at a random point of a 2^62 range, so that the ids of coordinators that
     * share attention workers, or of one restarted, never meet in a worker's cache.
     */
    private static final AtomicLong NEXT_SEQUENCE_ID = new AtomicLong(new SecureRandom().nextLong() >>> 2);
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
    /** Most micro-batches a step is split into; 1 runs the batch as one. */
    private final int microBatches;
    /** Runs the layers instead of this class's loop when nothing observes them; null on the host. */
    private final DeviceLoop deviceLoop;

    public DeepseekModel(ModelConfig config, Backend backend, Weight embedTokens, AttentionStage attention,
                         float[][] postAttentionNorms, Router[] routers, ExpertStage experts, float[] finalNorm, Weight lmHead,
                         int microBatches) {
        this(config, backend, embedTokens, attention, postAttentionNorms, routers, experts, finalNorm, lmHead, microBatches, null);
    }

    private DeepseekModel(ModelConfig config, Backend backend, Weight embedTokens, AttentionStage attention,
                          float[][] postAttentionNorms, Router[] routers, ExpertStage experts, float[] finalNorm, Weight lmHead,
                          int microBatches, DeviceLoop deviceLoop) {
        if (microBatches < 1) {
            throw new IllegalArgumentException("a step needs at least 1 micro-batch, got " + microBatches);
        }
        this.config = config;
        this.backend = backend;
        this.embedTokens = embedTokens;
        this.attention = attention;
        this.postAttentionNorms = postAttentionNorms;
        this.routers = routers;
        this.experts = experts;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.microBatches = microBatches;
        this.deviceLoop = deviceLoop;
    }

    /**
     * This model with its unobserved steps run by {@code loop} (which must compute what this loop
     * does, over the same stages' caches); an observed step still runs here, through the stages.
     */
    public DeepseekModel onDevice(DeviceLoop loop) {
        return new DeepseekModel(config, backend, embedTokens, attention, postAttentionNorms, routers, experts, finalNorm, lmHead,
                microBatches, loop);
    }

    /**
     * Every weight of the model from one source, run in this process as one micro-batch: both stages
     * would compete for the same cores, so overlapping them gains nothing. Attention and experts are
     * stored as {@code plan} says; what runs between the stages never is quantized.
     */
    public static DeepseekModel load(TensorSource weights, ModelConfig config, Backend backend, Arena arena,
                                     QuantizationPlan plan) {
        return load(weights, config, backend, arena,
                LocalAttentionStage.load(weights, config, backend, arena, plan),
                LocalExpertStage.load(weights, config, backend, arena, plan), 1);
    }

    /**
     * The model around the given stages (remote ones on a coordinator): loads only what runs
     * between them (embeddings, post-attention norms, routers, final norm, lm_head), never an
     * attention or expert weight, and never quantized (the routers must choose exactly). A step is split into at most {@code microBatches}.
     */
    public static DeepseekModel load(TensorSource weights, ModelConfig config, Backend backend, Arena arena,
                                     AttentionStage attention, ExpertStage experts, int microBatches) {
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
        Weight embed = Weight.load(weights, "model.embed_tokens.weight", config.vocabSize(), hidden, arena);
        Weight lmHead = config.tieWordEmbeddings()
                ? embed
                : Weight.load(weights, "lm_head.weight", config.vocabSize(), hidden, arena);
        return new DeepseekModel(config, backend, embed, attention, postNorms, routers, experts,
                Weight.toFloats(weights.tensor("model.norm.weight", hidden)), lmHead, microBatches);
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
     * With several micro-batches the observer sees each one's decoder layers apart, from its own thread.
     */
    public float[] forward(List<SequenceChunk> chunks, int[] tokenIds, boolean allPositions, LayerObserver observer) {
        checkVocabulary(tokenIds);
        if (deviceLoop != null && observer == LayerObserver.NONE) {
            return deviceLoop.logits(chunks, tokenIds, allPositions);
        }
        float[] hidden = embed(tokenIds);
        observer.hiddenStates(-1, hidden);
        List<MicroBatch> batches = MicroBatch.split(chunks, microBatches);
        float[] out = batches.size() == 1
                ? decoderLayers(batches.getFirst(), hidden, observer, () -> { })
                : overlapped(batches, hidden, observer);
        return logits(out, chunks, allPositions, observer);
    }

    /**
     * Each chunk's greedy next token: what {@link #forward} then the highest logit of each chunk's
     * last position (ties to the lower id) gives, chosen on the device when the model runs there.
     */
    public int[] greedyTokens(List<SequenceChunk> chunks, int[] tokenIds, LayerObserver observer) {
        if (deviceLoop != null && observer == LayerObserver.NONE) {
            checkVocabulary(tokenIds);
            return deviceLoop.greedyTokens(chunks, tokenIds);
        }
        float[] logits = forward(chunks, tokenIds, false, observer);
        int vocab = config.vocabSize();
        int[] tokens = new int[chunks.size()];
        int[] best = new int[1];
        for (int i = 0; i < tokens.length; i++) {
            backend.topK(logits, i * vocab, vocab, 1, best);
            tokens[i] = best[0];
        }
        return tokens;
    }

    /**
     * Every micro-batch through the decoder layers on its own virtual thread (they mostly wait on
     * remote stages), each started when the one before has been through its first attention; the
     * rows come back in place once all are done.
     */
    private float[] overlapped(List<MicroBatch> batches, float[] hidden, LayerObserver observer) {
        int dim = config.hiddenSize();
        List<Future<float[]>> chains = new ArrayList<>(batches.size());
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            CountDownLatch previousAttended = new CountDownLatch(0);
            for (MicroBatch batch : batches) {
                CountDownLatch waitFor = previousAttended;
                CountDownLatch attended = new CountDownLatch(1);
                float[] batchRows = Arrays.copyOfRange(hidden, batch.firstRow() * dim, (batch.firstRow() + batch.rows()) * dim);
                chains.add(threads.submit(() -> {
                    try {
                        waitFor.await();
                        return decoderLayers(batch, batchRows, observer, attended::countDown);
                    } finally {
                        attended.countDown();
                    }
                }));
                previousAttended = attended;
            }
        }
        float[] out = new float[hidden.length];
        for (int i = 0; i < chains.size(); i++) {
            Future<float[]> chain = chains.get(i);
            if (chain.state() != Future.State.SUCCESS) {
                throw failure(chain, batches.get(i));
            }
            System.arraycopy(chain.resultNow(), 0, out, batches.get(i).firstRow() * dim, batches.get(i).rows() * dim);
        }
        return out;
    }

    /** The chain's own exception when it threw one, so callers see the same failures as with one micro-batch. */
    private static RuntimeException failure(Future<float[]> chain, MicroBatch batch) {
        Throwable cause = chain.state() == Future.State.FAILED ? chain.exceptionNow() : null;
        if (cause instanceof RuntimeException e) {
            return e;
        }
        if (cause instanceof Error e) {
            throw e;
        }
        return new IllegalStateException("micro-batch " + batch.index() + (cause != null ? " failed" : " was cancelled"), cause);
    }

    /** The micro-batch's rows through every decoder layer; {@code attendedOnce} runs after its first attention. */
    private float[] decoderLayers(MicroBatch batch, float[] hidden, LayerObserver observer, Runnable attendedOnce) {
        int dim = config.hiddenSize();
        int rows = batch.rows();
        float[] normed = new float[hidden.length];
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            hidden = attention.forward(layer, batch.index(), batch.chunks(), hidden);
            if (layer == 0) {
                attendedOnce.run();
            }
            for (int r = 0; r < rows; r++) {
                backend.rmsNorm(hidden, r * dim, postAttentionNorms[layer], (float) config.rmsNormEps(), normed, r * dim);
            }
            float[] expertOut = experts.forward(layer, batch.index(), normed, routes(layer, normed, rows, observer));
            backend.axpy(1f, expertOut, 0, hidden, 0, hidden.length);
            observer.hiddenStates(layer, hidden);
        }
        return hidden;
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

    private void checkVocabulary(int[] tokenIds) {
        for (int id : tokenIds) {
            if (id < 0 || id >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + config.vocabSize() + ")");
            }
        }
    }

    private float[] embed(int[] tokenIds) {
        int dim = config.hiddenSize();
        float[] hidden = new float[tokenIds.length * dim];
        for (int r = 0; r < tokenIds.length; r++) {
            embedTokens.copyRow(tokenIds[r], hidden, r * dim);
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

    /** An id no other sequence has had, in this process or another: caches of different runs never mix. */
    public static long newSequenceId() {
        return NEXT_SEQUENCE_ID.getAndIncrement();
    }

    /** Sets aside cache blocks for the sequence to hold {@code tokens} positions: see {@link AttentionStage#reserve}. */
    public boolean reserve(long sequenceId, int tokens) {
        return attention.reserve(sequenceId, tokens);
    }

    public CacheUsage cacheUsage() {
        return attention.cacheUsage();
    }

    /** Frees the sequence's cache in the attention stage. */
    public void release(long sequenceId) {
        attention.release(sequenceId);
    }
}
