package dev.expertmesh.cuda.stage;

import dev.expertmesh.attention.SequenceChunk;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.cuda.runtime.DeviceBuffer;
import dev.expertmesh.cuda.runtime.DeviceWeight;
import dev.expertmesh.cuda.runtime.Gpu;
import dev.expertmesh.cuda.runtime.GpuQueue;
import dev.expertmesh.engine.DeviceLoop;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.tensor.Weight;

import java.lang.foreign.Arena;
import java.util.List;

/**
 * DeepseekModel's loop with the hidden state in device memory from the embedding to the next
 * tokens, every kernel on one queue: embed, then per layer the attention stage's device entry (its
 * residual added in place), the post-attention rms_norm, the router (cuBLAS gate, route_topk), the
 * expert stage's grouped products reading those routes (moe_combine adds them in place), then the
 * final rms_norm, lm_head and argmax. What crosses to the host is the token ids, positions and
 * block tables going up, and one download a step coming back: the chosen ids, or the logits when
 * asked for. Numbers as the host loop's with bf16 GEMM inputs (the CPU engine on Bf16GemmBackend).
 */
final class DeviceResidentLoop implements DeviceLoop, AutoCloseable {
    /** Threads of an argmax block (sampling.cu). */
    private static final int ARGMAX_BLOCK = 1024;
    private final ModelConfig config;
    private final GpuQueue queue;
    private final CudaAttentionStage attention;
    private final CudaExpertStage experts;
    /** embed_tokens [vocab, hidden] bf16; lm_head is the same weight when tied. */
    private final DeviceWeight embedTokens;
    private final DeviceBuffer[] postAttentionNorms;
    /** routers[layer], null for dense layers. */
    private final DeviceRouter[] routers;
    private final DeviceBuffer finalNorm;
    private final DeviceWeight lmHead;

    private DeviceResidentLoop(ModelConfig config, GpuQueue queue, CudaAttentionStage attention, CudaExpertStage experts,
                               DeviceWeight embedTokens, DeviceBuffer[] postAttentionNorms, DeviceRouter[] routers,
                               DeviceBuffer finalNorm, DeviceWeight lmHead) {
        this.config = config;
        this.queue = queue;
        this.attention = attention;
        this.experts = experts;
        this.embedTokens = embedTokens;
        this.postAttentionNorms = postAttentionNorms;
        this.routers = routers;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
    }

    /**
     * Uploads what runs between the stages (embeddings, norms, router gates, lm_head, none of it
     * quantized); the stages must work on {@code queue}, and {@code experts} must group every layer.
     */
    static DeviceResidentLoop load(GpuQueue queue, TensorSource weights, ModelConfig config, Arena arena,
                                   CudaAttentionStage attention, CudaExpertStage experts) {
        Gpu gpu = queue.gpu();
        int hidden = config.hiddenSize();
        int layers = config.numHiddenLayers();
        DeviceBuffer[] postNorms = new DeviceBuffer[layers];
        DeviceRouter[] routers = new DeviceRouter[layers];
        for (int layer = 0; layer < layers; layer++) {
            postNorms[layer] = GpuMla.gain(gpu, Weight.toFloats(
                    weights.tensor("model.layers." + layer + ".post_attention_layernorm.weight", hidden)));
            if (config.isMoeLayer(layer)) {
                routers[layer] = DeviceRouter.load(gpu, weights, config, layer, arena);
            }
        }
        DeviceWeight embed = DeviceWeight.upload(gpu, Weight.load(weights, "model.embed_tokens.weight", config.vocabSize(), hidden, arena));
        DeviceWeight lmHead = config.tieWordEmbeddings()
                ? embed
                : DeviceWeight.upload(gpu, Weight.load(weights, "lm_head.weight", config.vocabSize(), hidden, arena));
        return new DeviceResidentLoop(config, queue, attention, experts, embed, postNorms, routers,
                GpuMla.gain(gpu, Weight.toFloats(weights.tensor("model.norm.weight", hidden))), lmHead);
    }

    @Override
    public synchronized float[] logits(List<SequenceChunk> chunks, int[] tokenIds, boolean allPositions) {
        int rows = allPositions ? tokenIds.length : chunks.size();
        DeviceBuffer logits = forward(chunks, tokenIds, allPositions);
        return queue.downloadFloats(logits.address(), Math.multiplyExact(rows, config.vocabSize()));
    }

    @Override
    public synchronized int[] greedyTokens(List<SequenceChunk> chunks, int[] tokenIds) {
        int rows = chunks.size();
        DeviceBuffer logits = forward(chunks, tokenIds, false);
        DeviceBuffer next = queue.scratch("loop_next", (long) rows * Integer.BYTES);
        queue.launch("argmax", rows, 1, ARGMAX_BLOCK, logits, next, rows, config.vocabSize());
        return queue.downloadInts(next.address(), rows);
    }

    /** The step on the device up to its logits [rows, vocab]: every position's, or each chunk's last. */
    private DeviceBuffer forward(List<SequenceChunk> chunks, int[] tokenIds, boolean allPositions) {
        queue.begin();
        int dim = config.hiddenSize();
        int rows = tokenIds.length;
        float eps = (float) config.rmsNormEps();
        DeviceBuffer tokens = queue.upload("loop_tokens", tokenIds);
        CudaAttentionStage.Placement placement = attention.placeStep(chunks);
        DeviceBuffer hidden = queue.floats("loop_hidden", (long) rows * dim);
        queue.launch("embed", rows, 1, 256, tokens, embedTokens.data(), hidden, rows, dim);
        DeviceBuffer normed = queue.bf16s("loop_normed", (long) rows * dim);
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            attention.addAttention(layer, chunks, placement, hidden.address(), rows);
            queue.launch("rms_norm", rows, 1, 256, hidden, dim, postAttentionNorms[layer], normed, dim, dim, eps);
            DeviceRouter router = routers[layer];
            if (router == null) {
                experts.addExperts(layer, normed.address(), rows, 0L, 0L, hidden.address());
            } else {
                DeviceRouter.Routes routes = router.route(queue, normed.address(), rows);
                experts.addExperts(layer, normed.address(), rows, routes.expertIds(), routes.weights(), hidden.address());
            }
        }
        queue.launch("rms_norm", rows, 1, 256, hidden, dim, finalNorm, normed, dim, dim, eps);
        int outRows = allPositions ? rows : chunks.size();
        long lmInput = allPositions || outRows == rows ? normed.address() : lastRows(chunks, normed);
        DeviceBuffer logits = queue.floats("loop_logits", (long) outRows * config.vocabSize());
        queue.linear(lmHead, lmInput, dim, outRows, logits.address());
        return logits;
    }

    /** Each chunk's last row of {@code normed}, gathered (moe_gather copies bf16 rows). */
    private long lastRows(List<SequenceChunk> chunks, DeviceBuffer normed) {
        int dim = config.hiddenSize();
        int[] last = new int[chunks.size()];
        int end = 0;
        for (int i = 0; i < last.length; i++) {
            end += chunks.get(i).length();
            last[i] = end - 1;
        }
        DeviceBuffer gathered = queue.bf16s("loop_last_rows", (long) last.length * dim);
        queue.launch("moe_gather", last.length, 1, 256, normed, queue.upload("loop_last_row_ids", last), gathered, last.length, dim);
        return gathered.address();
    }

    /** Frees the loop's weights; the stages and the queue are closed by their owner. */
    @Override
    public synchronized void close() {
        queue.begin();
        queue.synchronize();
        Gpu gpu = queue.gpu();
        embedTokens.free(gpu);
        if (lmHead != embedTokens) {
            lmHead.free(gpu);
        }
        for (DeviceBuffer norm : postAttentionNorms) {
            gpu.free(norm);
        }
        for (DeviceRouter router : routers) {
            if (router != null) {
                router.free(gpu);
            }
        }
        gpu.free(finalNorm);
    }
}
