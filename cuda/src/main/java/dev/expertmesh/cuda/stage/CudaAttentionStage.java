package dev.expertmesh.cuda.stage;

import dev.expertmesh.attention.CacheBlocks;
import dev.expertmesh.attention.CacheUsage;
import dev.expertmesh.attention.ResidentAttentionStage;
import dev.expertmesh.attention.SequenceChunk;
import dev.expertmesh.attention.YarnRope;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.cuda.runtime.DeviceBuffer;
import dev.expertmesh.cuda.runtime.Gemms;
import dev.expertmesh.cuda.runtime.Gpu;
import dev.expertmesh.cuda.runtime.GpuQueue;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.QuantizationPlan;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.List;

/**
 * MLA for every layer on a GPU, each sequence's latent cache [c | k_pe] in bf16 blocks of one
 * device pool per layer. Decode rows attend through mla_decode with kv_b_proj absorbed into the
 * query and the output (two head-batched GEMMs); prefill chunks expand their cached latents into
 * keys and values and attend through mla_prefill. Same numbers as core's MlaAttention, in bf16.
 */
public final class CudaAttentionStage implements ResidentAttentionStage {
    private static final int PREFILL_ROWS_PER_BLOCK = 16;
    /** Block-table widths are multiples of this many blocks. */
    private static final int TABLE_WIDTH_STEP = 8;
    private final ModelConfig config;
    private final GpuQueue queue;
    /** Whether closing the stage closes the queue (not when it shares the queue of a device-resident loop). */
    private final boolean ownsQueue;
    private final GpuMla[] layers;
    /** caches[layer]: [blocks, blockTokens, width] bf16. */
    private final DeviceBuffer[] caches;
    private final CacheBlocks blocks;
    private final DeviceBuffer inverseFrequencies;
    private final int ropePairs;
    private final float ropeScale;

    private CudaAttentionStage(ModelConfig config, GpuQueue queue, boolean ownsQueue, GpuMla[] layers, DeviceBuffer[] caches,
                               CacheBlocks blocks, DeviceBuffer inverseFrequencies, int ropePairs, float ropeScale) {
        this.config = config;
        this.queue = queue;
        this.ownsQueue = ownsQueue;
        this.layers = layers;
        this.caches = caches;
        this.blocks = blocks;
        this.inverseFrequencies = inverseFrequencies;
        this.ropePairs = ropePairs;
        this.ropeScale = ropeScale;
    }

    /**
     * Every layer's attention weights, projections stored as {@code plan} says of attention, and a
     * cache of {@code totalBlocks} blocks of {@code blockTokens} positions.
     */
    public static CudaAttentionStage load(Gpu gpu, TensorSource weights, ModelConfig config, Arena arena, QuantizationPlan plan,
                                          int blockTokens, int totalBlocks) {
        return load(new GpuQueue(gpu), true, weights, config, arena, plan, blockTokens, totalBlocks);
    }

    /** As {@link #load(Gpu, TensorSource, ModelConfig, Arena, QuantizationPlan, int, int)}, its work on {@code queue}, which its owner closes. */
    static CudaAttentionStage onQueue(GpuQueue queue, TensorSource weights, ModelConfig config, Arena arena, QuantizationPlan plan,
                                      int blockTokens, int totalBlocks) {
        return load(queue, false, weights, config, arena, plan, blockTokens, totalBlocks);
    }

    private static CudaAttentionStage load(GpuQueue queue, boolean ownsQueue, TensorSource weights, ModelConfig config, Arena arena,
                                           QuantizationPlan plan, int blockTokens, int totalBlocks) {
        Gpu gpu = queue.gpu();
        int n = config.numHiddenLayers();
        GpuMla[] layers = new GpuMla[n];
        DeviceBuffer[] caches = new DeviceBuffer[n];
        for (int layer = 0; layer < n; layer++) {
            layers[layer] = GpuMla.upload(gpu, weights, config, layer, arena, plan.attentionAndDense());
            caches[layer] = gpu.allocate((long) totalBlocks * blockTokens * config.latentCacheWidth() * GpuQueue.BF16_BYTES);
        }
        YarnRope rope = new YarnRope(config);
        float[] cos = new float[rope.pairs()];
        float[] sin = new float[rope.pairs()];
        rope.rotation(0, cos, sin);
        float scale = cos[0];
        // YarnRope keeps its frequencies to itself: position 1's angles are them (each below π, so atan2 recovers them).
        rope.rotation(1, cos, sin);
        float[] frequencies = new float[rope.pairs()];
        for (int i = 0; i < frequencies.length; i++) {
            frequencies[i] = (float) Math.atan2(sin[i], cos[i]);
        }
        return new CudaAttentionStage(config, queue, ownsQueue, layers, caches, new CacheBlocks(n, blockTokens, totalBlocks),
                gpu.upload(frequencies), rope.pairs(), scale);
    }

    @Override
    public synchronized float[] forward(int layer, int microBatch, List<SequenceChunk> chunks, float[] hidden) {
        return run(layer, chunks, hidden, true);
    }

    @Override
    public synchronized float[] attentionOutput(int layer, List<SequenceChunk> chunks, float[] hidden) {
        return run(layer, chunks, hidden, false);
    }

    /** The layer's attention output for the rows, with the residual added on the device when {@code withResidual}. */
    private float[] run(int layer, List<SequenceChunk> chunks, float[] hidden, boolean withResidual) {
        queue.begin();
        DeviceBuffer x = queue.upload("hidden", hidden);
        DeviceBuffer out = queue.floats("out", hidden.length);
        attention(layer, chunks, place(layer, layer + 1, chunks), x.address(), hidden.length / config.hiddenSize(), out.address());
        if (withResidual) {
            queue.addInto(out.address(), x.address(), hidden.length);
        }
        return queue.downloadFloats(out.address(), hidden.length);
    }

    /**
     * A step's rows placed in every layer's cache (see {@link CacheBlocks#write}), their positions,
     * cache slots and decode block tables uploaded once for all layers: the device-resident loop's
     * first call of a step, before any launch of it.
     */
    synchronized Placement placeStep(List<SequenceChunk> chunks) {
        return place(0, layers.length, chunks);
    }

    /**
     * Adds the layer's attention output for the rows of {@code hidden} (fp32 [rows, hidden] in device
     * memory) to them, on the stage's queue: the device-resident loop's entry. It only launches work
     * (no copy from the host, nothing waited on), so a decode step can be captured in a graph.
     */
    synchronized void addAttention(int layer, List<SequenceChunk> chunks, Placement placement, long hidden, int rows) {
        long n = (long) rows * config.hiddenSize();
        DeviceBuffer out = queue.floats("out", n);
        attention(layer, chunks, placement, hidden, rows, out.address());
        queue.addInto(hidden, out.address(), n);
    }

    /**
     * Where a step's rows are: positions [rows] and cache slots [rows] on the device, and for each run
     * of consecutive decode chunks its rows' block tables and lengths. The tables are {@code tableWidth}
     * blocks wide, rounded up so that a sequence growing by a block seldom changes the launches.
     */
    record Placement(long positions, long slots, long tables, long lengths, int tableWidth) {
    }

    private Placement place(int fromLayer, int toLayer, List<SequenceChunk> chunks) {
        for (int layer = fromLayer; layer < toLayer; layer++) {
            blocks.write(layer, chunks);
        }
        int rows = chunks.stream().mapToInt(SequenceChunk::length).sum();
        int[] positions = new int[rows];
        int[] slots = new int[rows];
        int row = 0;
        for (SequenceChunk chunk : chunks) {
            for (int t = 0; t < chunk.length(); t++, row++) {
                positions[row] = chunk.start() + t;
                slots[row] = blocks.slot(chunk.sequenceId(), chunk.start() + t);
            }
        }
        int[][] held = chunks.stream().map(c -> blocks.blocks(c.sequenceId())).toArray(int[][]::new);
        int widest = Arrays.stream(held).mapToInt(ids -> ids.length).max().orElse(1);
        int width = (widest + TABLE_WIDTH_STEP - 1) / TABLE_WIDTH_STEP * TABLE_WIDTH_STEP;
        // A table row and a length for each chunk; decode runs index them by their first chunk.
        int[] tables = new int[chunks.size() * width];
        int[] lengths = new int[chunks.size()];
        for (int i = 0; i < chunks.size(); i++) {
            System.arraycopy(held[i], 0, tables, i * width, held[i].length);
            lengths[i] = chunks.get(i).end();
        }
        return new Placement(queue.upload("step_positions", positions).address(), queue.upload("step_slots", slots).address(),
                queue.upload("step_tables", tables).address(), queue.upload("step_lengths", lengths).address(), width);
    }

    /** out [rows, hidden] = the layer's attention output for the rows x [rows, hidden], both fp32 in device memory. */
    private void attention(int layer, List<SequenceChunk> chunks, Placement placement, long x, int rows, long out) {
        int dim = config.hiddenSize();
        GpuMla w = layers[layer];
        float eps = (float) config.rmsNormEps();
        DeviceBuffer normed = queue.bf16s("normed", (long) rows * dim);
        queue.launch("rms_norm", rows, 1, 256, x, dim, w.inputNorm(), normed, dim, dim, eps);
        long positions = placement.positions();
        DeviceBuffer q = queries(w, normed, rows, positions);
        int width = config.latentCacheWidth();
        int rank = config.kvLoraRank();
        DeviceBuffer latent = queue.floats("latent", (long) rows * width);
        queue.linear(w.kvAProj(), normed.address(), dim, rows, latent.address());
        queue.launch("rms_norm_f32", rows, 1, 256, latent, width, w.kvANorm(), latent, width, rank, eps);
        queue.launch("yarn_rope", rows, 1, ropeBlock(), latent, width, 0, 1, rank, positions, inverseFrequencies,
                ropePairs, ropeScale, rows);
        queue.launch("cache_write", rows, 1, 256, latent, width, placement.slots(), caches[layer], rows, width);
        long attendedValues = (long) rows * config.numAttentionHeads() * config.vHeadDim();
        DeviceBuffer attended = queue.floats("attended", attendedValues);
        attend(layer, chunks, placement, q, attended);
        DeviceBuffer attendedBf16 = queue.bf16s("attended_bf16", attendedValues);
        queue.toBf16(attended.address(), attendedBf16.address(), attendedValues);
        queue.linear(w.oProj(), attendedBf16.address(), config.numAttentionHeads() * config.vHeadDim(), rows, out);
    }

    /** q [rows, heads, qkHeadDim] in fp32, its rope part rotated. */
    private DeviceBuffer queries(GpuMla w, DeviceBuffer normed, int rows, long positions) {
        int dim = config.hiddenSize();
        int heads = config.numAttentionHeads();
        int qk = config.qkHeadDim();
        DeviceBuffer q = queue.floats("q", (long) rows * heads * qk);
        if (w.qProj() != null) {
            queue.linear(w.qProj(), normed.address(), dim, rows, q.address());
        } else {
            int rank = config.qLoraRank();
            DeviceBuffer compressed = queue.floats("q_compressed", (long) rows * rank);
            queue.linear(w.qAProj(), normed.address(), dim, rows, compressed.address());
            DeviceBuffer compressedBf16 = queue.bf16s("q_compressed_bf16", (long) rows * rank);
            queue.launch("rms_norm", rows, 1, 256, compressed, rank, w.qANorm(), compressedBf16, rank, rank,
                    (float) config.rmsNormEps());
            queue.linear(w.qBProj(), compressedBf16.address(), rank, rows, q.address());
        }
        queue.launch("yarn_rope", rows, heads, ropeBlock(), q, heads * qk, qk, heads, config.qkNopeHeadDim(), positions,
                inverseFrequencies, ropePairs, ropeScale, rows);
        return q;
    }

    private int ropeBlock() {
        return (ropePairs + 31) / 32 * 32;
    }

    /** Runs of consecutive decode chunks attend together through mla_decode; each longer chunk through mla_prefill. */
    private void attend(int layer, List<SequenceChunk> chunks, Placement placement, DeviceBuffer q, DeviceBuffer attended) {
        int row = 0;
        int i = 0;
        while (i < chunks.size()) {
            if (chunks.get(i).length() > 1) {
                prefill(layer, chunks.get(i), row, q, attended);
                row += chunks.get(i).length();
                i++;
                continue;
            }
            int end = i;
            while (end < chunks.size() && chunks.get(end).length() == 1) {
                end++;
            }
            decode(layer, placement, i, end - i, row, q, attended);
            row += end - i;
            i = end;
        }
    }

    /**
     * One query row per chunk of the {@code rows} decode chunks from {@code firstChunk}, their rows
     * from {@code firstRow}: q_nope absorbed through W_UK (heads-batched GEMM), attention over the
     * latent cache, the latent output expanded through W_UV.
     */
    private void decode(int layer, Placement placement, int firstChunk, int rows, int firstRow, DeviceBuffer q, DeviceBuffer attended) {
        int heads = config.numAttentionHeads();
        int qk = config.qkHeadDim();
        int nope = config.qkNopeHeadDim();
        int rope = config.qkRopeHeadDim();
        int rank = config.kvLoraRank();
        int vDim = config.vHeadDim();
        int perHead = nope + vDim;
        long kvB = layers[layer].kvBProj().address();
        DeviceBuffer qBf16 = queue.bf16s("q_bf16", (long) rows * heads * qk);
        long qRows = q.at((long) firstRow * heads * qk * Float.BYTES);
        queue.toBf16(qRows, qBf16.address(), (long) rows * heads * qk);
        DeviceBuffer qLatent = queue.floats("q_latent", (long) rows * heads * rank);
        Gemms.times(queue.cublas(), heads, rows, Gemms.Rows.bf16(qBf16.address(), heads * qk, qk),
                new Gemms.Matrices(kvB, (long) perHead * rank, nope, rank), Gemms.Rows.f32(qLatent.address(), heads * rank, rank));
        DeviceBuffer qPe = queue.floats("q_pe", (long) rows * heads * rope);
        queue.copyRows(qPe.address(), (long) rope * Float.BYTES, qRows + (long) nope * Float.BYTES, (long) qk * Float.BYTES,
                (long) rope * Float.BYTES, (long) rows * heads);
        DeviceBuffer latentOut = queue.floats("latent_out", (long) rows * heads * rank);
        int width = placement.tableWidth();
        queue.launch("mla_decode", heads, rows, 256, qLatent, qPe, caches[layer],
                placement.tables() + (long) firstChunk * width * Integer.BYTES, placement.lengths() + (long) firstChunk * Integer.BYTES,
                latentOut, heads, rank, rope, blocks.blockTokens(), width,
                (float) config.softmaxScale());
        DeviceBuffer latentOutBf16 = queue.bf16s("latent_out_bf16", (long) rows * heads * rank);
        queue.toBf16(latentOut.address(), latentOutBf16.address(), (long) rows * heads * rank);
        Gemms.timesTranspose(queue.cublas(), heads, rows, Gemms.Rows.bf16(latentOutBf16.address(), heads * rank, rank),
                new Gemms.Matrices(kvB + (long) nope * rank * GpuQueue.BF16_BYTES, (long) perHead * rank, vDim, rank),
                Gemms.Rows.f32(attended.at((long) firstRow * heads * vDim * Float.BYTES), heads * vDim, vDim));
    }

    /**
     * A prefill chunk: the sequence's cached latents of positions [0, end) expanded by kv_b_proj into
     * per-head keys (with the shared rope key) and values, then causal attention for the chunk's rows.
     */
    private void prefill(int layer, SequenceChunk chunk, int firstRow, DeviceBuffer q, DeviceBuffer attended) {
        int context = chunk.end();
        int heads = config.numAttentionHeads();
        int qk = config.qkHeadDim();
        int nope = config.qkNopeHeadDim();
        int rope = config.qkRopeHeadDim();
        int rank = config.kvLoraRank();
        int vDim = config.vHeadDim();
        int perHead = nope + vDim;
        int width = config.latentCacheWidth();
        int blockTokens = blocks.blockTokens();
        long blockBytes = (long) blockTokens * width * GpuQueue.BF16_BYTES;
        DeviceBuffer latents = queue.bf16s("prefill_latents", (long) context * width);
        int[] held = blocks.blocks(chunk.sequenceId());
        for (int b = 0; b * blockTokens < context; b++) {
            long tokens = Math.min(blockTokens, context - (long) b * blockTokens);
            queue.copy(latents.at(b * blockBytes), caches[layer].at(held[b] * blockBytes), tokens * width * GpuQueue.BF16_BYTES);
        }
        DeviceBuffer keysValues = queue.floats("prefill_kv", (long) context * heads * perHead);
        queue.linear(layers[layer].kvBProj(), latents.address(), width, context, keysValues.address());
        DeviceBuffer latentsF32 = queue.floats("prefill_latents_f32", (long) context * width);
        queue.toF32(latents.address(), latentsF32.address(), (long) context * width);
        DeviceBuffer keys = queue.floats("prefill_k", (long) context * heads * qk);
        DeviceBuffer values = queue.floats("prefill_v", (long) context * heads * vDim);
        int f = Float.BYTES;
        queue.copyRows(keys.address(), (long) qk * f, keysValues.address(), (long) perHead * f, (long) nope * f, (long) context * heads);
        for (int h = 0; h < heads; h++) {
            queue.copyRows(keys.at(((long) h * qk + nope) * f), (long) heads * qk * f, latentsF32.at((long) rank * f), (long) width * f,
                    (long) rope * f, context);
        }
        queue.copyRows(values.address(), (long) vDim * f, keysValues.at((long) nope * f), (long) perHead * f, (long) vDim * f,
                (long) context * heads);
        int rows = chunk.length();
        queue.launch("mla_prefill", heads, (rows + PREFILL_ROWS_PER_BLOCK - 1) / PREFILL_ROWS_PER_BLOCK, 256,
                q.at((long) firstRow * heads * qk * f), keys, values, attended.at((long) firstRow * heads * vDim * f),
                rows, context, chunk.start(), heads, qk, vDim, (float) config.softmaxScale());
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
    public synchronized void release(long sequenceId) {
        blocks.release(sequenceId);
    }

    @Override
    public synchronized void close() {
        queue.begin();
        queue.synchronize();
        for (int layer = 0; layer < layers.length; layer++) {
            layers[layer].free(queue.gpu());
            queue.gpu().free(caches[layer]);
        }
        queue.gpu().free(inverseFrequencies);
        if (ownsQueue) {
            queue.close();
        }
        blocks.releaseAll();
    }
}
