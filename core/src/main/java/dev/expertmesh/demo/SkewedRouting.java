package dev.expertmesh.demo;

import dev.expertmesh.checkpoint.Tensor;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.tensor.Weight;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The demo's random weights with routers that prefer some experts, for load-balancing tests and
 * demos. A greedy softmax router has no bias term, so one is built from a constant hidden channel:
 * every token's embedding holds {@link #CHANNEL_VALUE} in channel 0, and no layer writes there
 * (row 0 of every o_proj and down_proj is zero), so after the router's RMSNorm that channel is a
 * positive value of about the same size for every token. Column 0 of each MoE gate then carries a
 * per-expert bias: the expert of popularity rank r (0 the hottest) gets {@link #SKEW}·ln(1/(r+1)),
 * a Zipf-like preference. The ranking is a different shuffle in each layer, so hot experts differ
 * from layer to layer as in real checkpoints, and contiguous placement is not balanced by luck.
 */
final class SkewedRouting implements TensorSource {
    private static final Pattern GATE = Pattern.compile("model\\.layers\\.(\\d+)\\.mlp\\.gate\\.weight");
    private static final float CHANNEL_VALUE = 3f;
    /** Logit gap between the hottest expert and the one of rank r, per unit of ln(r+1); router logits have a spread of about 2. */
    private static final double SKEW = 1.7;

    private final TensorSource random;
    private final long seed;

    SkewedRouting(TensorSource random, long seed) {
        this.random = random;
        this.seed = seed;
    }

    @Override
    public Tensor tensor(String name, long... shape) {
        Tensor t = random.tensor(name, shape);
        MemorySegment data = t.data();
        Matcher gate = GATE.matcher(name);
        if (name.equals("model.embed_tokens.weight")) {
            for (long row = 0; row < shape[0]; row++) {
                set(data, row * shape[1], CHANNEL_VALUE);
            }
        } else if (name.endsWith("o_proj.weight") || name.endsWith("down_proj.weight")) {
            data.asSlice(0, shape[1] * 2).fill((byte) 0);
        } else if (gate.matches()) {
            int layer = Integer.parseInt(gate.group(1));
            int[] rank = ranks((int) shape[0], layer);
            // The normed channel is CHANNEL_VALUE over the residual's RMS, which in this random model grows
            // about linearly with depth (measured by SkewedRoutingTest's shares): undo both so that every
            // layer gets about the designed logit bias.
            double perUnit = (layer + 1.0) / CHANNEL_VALUE;
            for (int expert = 0; expert < shape[0]; expert++) {
                set(data, expert * shape[1], (float) (-SKEW * Math.log(rank[expert] + 1) * perUnit));
            }
        }
        return t;
    }

    /** Each expert's popularity rank in this layer: a seeded shuffle, the same at every start. */
    private int[] ranks(int experts, int layer) {
        int[] rank = new int[experts];
        for (int i = 0; i < experts; i++) {
            rank[i] = i;
        }
        SplittableRandom random = new SplittableRandom(seed * 7919 + layer);
        for (int i = experts - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int swap = rank[i];
            rank[i] = rank[j];
            rank[j] = swap;
        }
        return rank;
    }

    private static void set(MemorySegment bf16, long index, float value) {
        bf16.setAtIndex(Weight.BF16, index, (short) (Float.floatToRawIntBits(value) >>> 16));
    }

    @Override
    public long totalBytes() {
        return random.totalBytes();
    }

    @Override
    public void close() {
        random.close();
    }
}
