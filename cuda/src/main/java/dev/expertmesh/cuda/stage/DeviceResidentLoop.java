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
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * DeepseekModel's loop with the hidden state in device memory from the embedding to the next
 * tokens, every kernel on one queue: embed, then per layer the attention stage's device entry (its
 * residual added in place), the post-attention rms_norm, the router (cuBLAS gate, route_topk), the
 * expert stage's grouped products reading those routes (moe_combine adds them in place), then the
 * final rms_norm, lm_head and argmax. What crosses to the host is the token ids, positions and
 * block tables going up before the step's first launch, and one download a step coming back: the
 * chosen ids, or the logits when asked for. Numbers as the host loop's with bf16 GEMM inputs (the
 * CPU engine on Bf16GemmBackend).
 *
 * <p>With graphs on, a greedy decode step (every chunk one token) runs as a CUDA graph per batch
 * size and block-table width: the first step of a shape runs plainly (sizing every scratch buffer),
 * then is captured; the next ones only upload their inputs and launch the graph. A graph is captured
 * again once a scratch buffer moved (a larger step in between). Prefill and scoring run plainly.
 */
final class DeviceResidentLoop implements DeviceLoop, AutoCloseable {
    /** Threads of an argmax block (sampling.cu). */
    private static final int ARGMAX_BLOCK = 1024;
    /** Captured decode steps kept: batch sizes times table widths seen lately. */
    private static final int MAX_GRAPHS = 32;
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
    private final boolean decodeGraphs;
    /** Captured decode steps by shape, least recently used first; each destroyed when dropped. */
    private final Map<GraphKey, DecodeGraph> graphs = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<GraphKey, DecodeGraph> eldest) {
            if (size() <= MAX_GRAPHS) {
                return false;
            }
            queue.destroyGraph(eldest.getValue().executable());
            return true;
        }
    };

    /** What fixes a decode step's launches: its rows and its block tables' width. */
    private record GraphKey(int rows, int tableWidth) {
    }

    /** A captured decode step and the scratch allocation count its addresses belong to. */
    private record DecodeGraph(MemorySegment executable, long scratchAllocations) {
    }

    /** A step's inputs on the device: the token ids and where its rows are in the caches. */
    private record Step(List<SequenceChunk> chunks, int rows, DeviceBuffer tokens, CudaAttentionStage.Placement placement) {
        boolean decodesOnly() {
            return rows == chunks.size();
        }
    }

    private DeviceResidentLoop(ModelConfig config, GpuQueue queue, CudaAttentionStage attention, CudaExpertStage experts,
                               DeviceWeight embedTokens, DeviceBuffer[] postAttentionNorms, DeviceRouter[] routers,
                               DeviceBuffer finalNorm, DeviceWeight lmHead, boolean decodeGraphs) {
        this.config = config;
        this.queue = queue;
        this.attention = attention;
        this.experts = experts;
        this.embedTokens = embedTokens;
        this.postAttentionNorms = postAttentionNorms;
        this.routers = routers;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.decodeGraphs = decodeGraphs;
    }

    /**
     * Uploads what runs between the stages (embeddings, norms, router gates, lm_head, none of it
     * quantized); the stages must work on {@code queue}, and {@code experts} must hold every routed
     * expert, each layer's projections in one format ({@link GroupedExperts}).
     * Greedy decode steps run as CUDA graphs when {@code decodeGraphs}.
     */
    static DeviceResidentLoop load(GpuQueue queue, TensorSource weights, ModelConfig config, Arena arena,
                                   CudaAttentionStage attention, CudaExpertStage experts, boolean decodeGraphs) {
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
                GpuMla.gain(gpu, Weight.toFloats(weights.tensor("model.norm.weight", hidden))), lmHead, decodeGraphs);
    }

    @Override
    public synchronized float[] logits(List<SequenceChunk> chunks, int[] tokenIds, boolean allPositions) {
        Step step = prepare(chunks, tokenIds);
        DeviceBuffer logits = launches(step, allPositions);
        return queue.downloadFloats(logits.address(), Math.multiplyExact(allPositions ? step.rows() : chunks.size(), config.vocabSize()));
    }

    @Override
    public synchronized int[] greedyTokens(List<SequenceChunk> chunks, int[] tokenIds) {
        Step step = prepare(chunks, tokenIds);
        int rows = chunks.size();
        DeviceBuffer next = queue.scratch("loop_next", (long) rows * Integer.BYTES);
        Runnable launches = () -> queue.launch("argmax", rows, 1, ARGMAX_BLOCK, launches(step, false), next, rows, config.vocabSize());
        if (decodeGraphs && step.decodesOnly()) {
            runAsGraph(new GraphKey(rows, step.placement().tableWidth()), launches);
        } else {
            launches.run();
        }
        return queue.downloadInts(next.address(), rows);
    }

    /** Launches the step's graph, or runs the step plainly and captures it for the next step of its shape. */
    private void runAsGraph(GraphKey key, Runnable launches) {
        DecodeGraph graph = graphs.get(key);
        if (graph != null && graph.scratchAllocations() == queue.scratchAllocations()) {
            queue.launchGraph(graph.executable());
            return;
        }
        launches.run();
        if (graph != null) {
            queue.destroyGraph(graph.executable());
        }
        graphs.put(key, new DecodeGraph(queue.capture(launches), queue.scratchAllocations()));
    }

    /** Everything the step's launches read from the host, uploaded before the first of them. */
    private Step prepare(List<SequenceChunk> chunks, int[] tokenIds) {
        queue.begin();
        DeviceBuffer tokens = queue.upload("loop_tokens", tokenIds);
        return new Step(chunks, tokenIds.length, tokens, attention.placeStep(chunks));
    }

    /** The step's work on the device up to its logits [rows, vocab]: every position's, or each chunk's last. */
    private DeviceBuffer launches(Step step, boolean allPositions) {
        List<SequenceChunk> chunks = step.chunks();
        int dim = config.hiddenSize();
        int rows = step.rows();
        float eps = (float) config.rmsNormEps();
        DeviceBuffer hidden = queue.floats("loop_hidden", (long) rows * dim);
        queue.launch("embed", rows, 1, 256, step.tokens(), embedTokens.data(), hidden, rows, dim);
        DeviceBuffer normed = queue.bf16s("loop_normed", (long) rows * dim);
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            attention.addAttention(layer, chunks, step.placement(), hidden.address(), rows);
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
        graphs.values().forEach(graph -> queue.destroyGraph(graph.executable()));
        graphs.clear();
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
