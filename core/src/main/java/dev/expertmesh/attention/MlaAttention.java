package dev.expertmesh.attention;

import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.Quantization;
import dev.expertmesh.tensor.Weight;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Multi-head latent attention (DeepSeek-V2 §2.1) for one layer. Keys and values are never cached:
 * only c = rmsNorm(x·W_DKVᵀ) and the rotated rope key are, and kv_b_proj rebuilds per-head keys
 * and values from c. Prefill expands c into keys and values; decode instead absorbs kv_b_proj into
 * the query (q·W_UK) and the output (W_UV·o), attending over the latent cache directly.
 */
public final class MlaAttention {
    /** Cached tokens one decode task reads for every head: small enough to spread a long context over the cores. */
    private static final int DECODE_TOKEN_BLOCK = 256;
    private final ModelConfig config;
    private final Weight qProj;
    private final Weight qAProj;
    private final float[] qANorm;
    private final Weight qBProj;
    private final Weight kvAProjWithMqa;
    private final float[] kvANorm;
    private final Weight kvBProj;
    private final Weight oProj;
    /** kv_b_proj's rows for head h's keys (W_UK) and values (W_UV), each [dim, kvLoraRank]. */
    private final Weight[] keyUp;
    private final Weight[] valueUp;
    private final YarnRope rope;
    private final float softmaxScale;
    private final float eps;

    private MlaAttention(ModelConfig config, Weight qProj, Weight qAProj, float[] qANorm, Weight qBProj,
                         Weight kvAProjWithMqa, float[] kvANorm, Weight kvBProj, Weight oProj, YarnRope rope) {
        this.config = config;
        this.qProj = qProj;
        this.qAProj = qAProj;
        this.qANorm = qANorm;
        this.qBProj = qBProj;
        this.kvAProjWithMqa = kvAProjWithMqa;
        this.kvANorm = kvANorm;
        this.kvBProj = kvBProj;
        this.oProj = oProj;
        this.rope = rope;
        this.softmaxScale = (float) config.softmaxScale();
        this.eps = (float) config.rmsNormEps();
        int heads = config.numAttentionHeads();
        int perHead = config.qkNopeHeadDim() + config.vHeadDim();
        keyUp = new Weight[heads];
        valueUp = new Weight[heads];
        for (int h = 0; h < heads; h++) {
            keyUp[h] = kvBProj.rowSlice(h * perHead, config.qkNopeHeadDim());
            valueUp[h] = kvBProj.rowSlice(h * perHead + config.qkNopeHeadDim(), config.vHeadDim());
        }
    }

    /** The layer's attention, its projections stored as {@code quantization} says (its norms never are). */
    public static MlaAttention load(TensorSource weights, ModelConfig config, int layer, YarnRope rope, Arena arena,
                                    Quantization quantization) {
        String p = "model.layers." + layer + ".self_attn.";
        int hidden = config.hiddenSize();
        int heads = config.numAttentionHeads();
        int qWidth = heads * config.qkHeadDim();
        Weight qProj = null;
        Weight qAProj = null;
        float[] qANorm = null;
        Weight qBProj = null;
        if (config.hasQLora()) {
            qAProj = projection(weights, p + "q_a_proj.weight", config.qLoraRank(), hidden, arena, quantization);
            qANorm = Weight.toFloats(weights.tensor(p + "q_a_layernorm.weight", config.qLoraRank()));
            qBProj = projection(weights, p + "q_b_proj.weight", qWidth, config.qLoraRank(), arena, quantization);
        } else {
            qProj = projection(weights, p + "q_proj.weight", qWidth, hidden, arena, quantization);
        }
        return new MlaAttention(config, qProj, qAProj, qANorm, qBProj,
                projection(weights, p + "kv_a_proj_with_mqa.weight", config.latentCacheWidth(), hidden, arena, quantization),
                Weight.toFloats(weights.tensor(p + "kv_a_layernorm.weight", config.kvLoraRank())),
                projection(weights, p + "kv_b_proj.weight",
                        (long) heads * (config.qkNopeHeadDim() + config.vHeadDim()), config.kvLoraRank(), arena, quantization),
                projection(weights, p + "o_proj.weight", hidden, (long) heads * config.vHeadDim(), arena, quantization),
                rope);
    }

    private static Weight projection(TensorSource weights, String name, long rows, long cols, Arena arena, Quantization quantization) {
        return quantization.apply(Weight.load(weights, name, rows, cols, arena), arena);
    }

    /**
     * Attention output o_proj(MLA(x)) for the rows of {@code chunks} (in order), writing their
     * latents into the chunks' {@code caches}, which hold room for them. Chunks of one token take the
     * absorbed path, longer ones the expanded path.
     */
    float[] forward(Backend backend, float[] x, List<SequenceChunk> chunks, List<LatentRows> caches) {
        int rows = x.length / config.hiddenSize();
        float[] q = queries(backend, x, rows);
        float[] kv = new float[rows * config.latentCacheWidth()];
        backend.matmul(kvAProjWithMqa, x, rows, kv);
        int heads = config.numAttentionHeads();
        float[] attended = new float[rows * heads * config.vHeadDim()];
        float[] cos = new float[rope.pairs()];
        float[] sin = new float[rope.pairs()];
        int row = 0;
        for (int i = 0; i < chunks.size(); i++) {
            SequenceChunk chunk = chunks.get(i);
            LatentRows cache = caches.get(i);
            for (int t = 0; t < chunk.length(); t++) {
                int r = row + t;
                rope.rotation(chunk.start() + t, cos, sin);
                for (int h = 0; h < heads; h++) {
                    backend.applyRope(q, (r * heads + h) * config.qkHeadDim() + config.qkNopeHeadDim(), cos, sin);
                }
                appendLatent(backend, kv, r, cache, chunk.start() + t, cos, sin);
            }
            if (chunk.length() == 1) {
                attendAbsorbed(backend, q, row, cache, chunk.end(), attended);
            } else {
                attendExpanded(backend, q, row, chunk, cache, attended);
            }
            row += chunk.length();
        }
        float[] out = new float[rows * config.hiddenSize()];
        backend.matmul(oProj, attended, rows, out);
        return out;
    }

    /** q = q_proj(x), or q_b_proj(rmsNorm(q_a_proj(x))) with query compression: [rows, heads·qkHeadDim]. */
    private float[] queries(Backend backend, float[] x, int rows) {
        float[] q = new float[rows * config.numAttentionHeads() * config.qkHeadDim()];
        if (qProj != null) {
            backend.matmul(qProj, x, rows, q);
            return q;
        }
        int rank = config.qLoraRank();
        float[] compressed = new float[rows * rank];
        backend.matmul(qAProj, x, rows, compressed);
        for (int r = 0; r < rows; r++) {
            backend.rmsNorm(compressed, r * rank, qANorm, eps, compressed, r * rank);
        }
        backend.matmul(qBProj, compressed, rows, q);
        return q;
    }

    /** Caches [rmsNorm(c) | rope(k_pe)] of row r of kv_a_proj_with_mqa's output at {@code position}. */
    private void appendLatent(Backend backend, float[] kv, int r, LatentRows cache, int position,
                              float[] cos, float[] sin) {
        int width = config.latentCacheWidth();
        float[] cached = cache.block(position);
        int at = cache.offset(position);
        backend.rmsNorm(kv, r * width, kvANorm, eps, cached, at);
        System.arraycopy(kv, r * width + config.kvLoraRank(), cached, at + config.kvLoraRank(), config.qkRopeHeadDim());
        backend.applyRope(cached, at + config.kvLoraRank(), cos, sin);
    }

    /**
     * Prefill: expands the cached latents of positions [0, chunk.end) into per-head keys and values
     * with kv_b_proj, then causal attention for each row of the chunk.
     */
    private void attendExpanded(Backend backend, float[] q, int firstRow, SequenceChunk chunk, LatentRows cache, float[] attended) {
        int tokens = chunk.end();
        int rank = config.kvLoraRank();
        int nope = config.qkNopeHeadDim();
        int vDim = config.vHeadDim();
        int heads = config.numAttentionHeads();
        int perHead = nope + vDim;
        float[] latents = new float[tokens * rank];
        for (int t = 0; t < tokens; t++) {
            System.arraycopy(cache.block(t), cache.offset(t), latents, t * rank, rank);
        }
        float[] keysValues = new float[tokens * heads * perHead];
        backend.matmul(kvBProj, latents, tokens, keysValues);
        // Heads are independent: each writes its own slices of the output.
        IntStream.range(0, heads).parallel().forEach(h -> {
            float[] scores = new float[tokens];
            for (int i = 0; i < chunk.length(); i++) {
                int r = firstRow + i;
                int visible = chunk.start() + i + 1;
                int qAt = (r * heads + h) * config.qkHeadDim();
                for (int t = 0; t < visible; t++) {
                    int kAt = (t * heads + h) * perHead;
                    scores[t] = (backend.dot(q, qAt, keysValues, kAt, nope)
                            + backend.dot(q, qAt + nope, cache.block(t), cache.offset(t) + rank, config.qkRopeHeadDim()))
                            * softmaxScale;
                }
                backend.softmax(scores, 0, visible);
                int outAt = (r * heads + h) * vDim;
                for (int t = 0; t < visible; t++) {
                    backend.axpy(scores[t], keysValues, (t * heads + h) * perHead + nope, attended, outAt, vDim);
                }
            }
        });
    }

    /**
     * Decode: one query row against {@code tokens} cached latents. Each head's query is absorbed into
     * latent space (W_UKᵀ·q_nope) and attends over c and k_pe directly; the latent output is expanded
     * by W_UV. Every cached row is read once for all heads, in blocks of tokens that run in parallel:
     * at long contexts the cache, not the weights, is what decode reads most.
     */
    private void attendAbsorbed(Backend backend, float[] q, int r, LatentRows cache, int tokens, float[] attended) {
        int rank = config.kvLoraRank();
        int width = config.latentCacheWidth();
        int heads = config.numAttentionHeads();
        // [W_UKᵀ·q_nope | q_pe] for each head lines up with a cached row [c | k_pe]: one dot product a token.
        float[] queries = new float[heads * width];
        IntStream.range(0, heads).parallel().forEach(h -> {
            int qAt = (r * heads + h) * config.qkHeadDim();
            backend.matmulTransposed(keyUp[h], q, qAt, queries, h * width);
            System.arraycopy(q, qAt + config.qkNopeHeadDim(), queries, h * width + rank, config.qkRopeHeadDim());
        });
        int blocks = (tokens + DECODE_TOKEN_BLOCK - 1) / DECODE_TOKEN_BLOCK;
        float[] scores = new float[heads * tokens];
        IntStream.range(0, blocks).parallel().forEach(b -> {
            for (int t = b * DECODE_TOKEN_BLOCK; t < Math.min(tokens, (b + 1) * DECODE_TOKEN_BLOCK); t++) {
                float[] row = cache.block(t);
                int at = cache.offset(t);
                for (int h = 0; h < heads; h++) {
                    scores[h * tokens + t] = backend.dot(queries, h * width, row, at, width) * softmaxScale;
                }
            }
        });
        for (int h = 0; h < heads; h++) {
            backend.softmax(scores, h * tokens, tokens);
        }
        // A block's partial outputs are added in block order: the sum is the same whatever the thread count.
        float[][] partial = new float[blocks][heads * rank];
        IntStream.range(0, blocks).parallel().forEach(b -> {
            for (int t = b * DECODE_TOKEN_BLOCK; t < Math.min(tokens, (b + 1) * DECODE_TOKEN_BLOCK); t++) {
                float[] row = cache.block(t);
                int at = cache.offset(t);
                for (int h = 0; h < heads; h++) {
                    backend.axpy(scores[h * tokens + t], row, at, partial[b], h * rank, rank);
                }
            }
        });
        float[] outputLatents = partial[0];
        for (int b = 1; b < blocks; b++) {
            backend.axpy(1f, partial[b], 0, outputLatents, 0, heads * rank);
        }
        IntStream.range(0, heads).parallel().forEach(h ->
                backend.matmul(valueUp[h], outputLatents, h * rank, 1, attended, (r * heads + h) * config.vHeadDim()));
    }
}
