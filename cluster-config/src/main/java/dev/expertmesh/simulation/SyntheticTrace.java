package dev.expertmesh.simulation;

import dev.expertmesh.model.ModelConfig;

import java.util.SplittableRandom;

/**
 * A routing trace made up for experiments without a model: each MoE layer's experts popular as Zipf's law has
 * it (the expert of rank r drawing weight 1 / (r + 1)^s), ranked by a random permutation per layer, and the
 * permutations drawn again every {@code driftSteps} steps, so that the hot experts move as they do when the
 * traffic changes. Every token picks the model's num_experts_per_tok distinct experts, as a top-k router does.
 * The same seed gives the same trace.
 *
 * @param zipf          Zipf's exponent s: 0 is uniform, larger is more skewed
 * @param driftSteps    steps between redraws of the hot experts, 0 for never
 * @param steps         steps of the trace
 * @param tokensPerStep tokens each step routes through every MoE layer
 */
public record SyntheticTrace(double zipf, int driftSteps, int steps, int tokensPerStep, long seed) {

    public SyntheticTrace {
        if (!(zipf >= 0) || driftSteps < 0) {
            throw new IllegalArgumentException("--synthetic zipf:" + zipf + ",drift:" + driftSteps
                    + ": expected a Zipf exponent of 0 or more and drift steps of 0 (none) or more");
        }
        if (steps < 1 || tokensPerStep < 1) {
            throw new IllegalArgumentException("--steps " + steps + " --tokens-per-step " + tokensPerStep + ": expected 1 or more of each");
        }
    }

    /** The trace of {@code --synthetic zipf:S[,drift:D]}. */
    public static SyntheticTrace parse(String spec, int steps, int tokensPerStep, long seed) {
        double zipf = Double.NaN;
        int drift = 0;
        for (String part : spec.split(",")) {
            String[] kv = part.strip().split(":", 2);
            try {
                switch (kv.length == 2 ? kv[0] : "") {
                    case "zipf" -> zipf = Double.parseDouble(kv[1]);
                    case "drift" -> drift = Integer.parseInt(kv[1]);
                    default -> throw new NumberFormatException();
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--synthetic " + spec + ": expected zipf:S[,drift:D], e.g. zipf:1.2,drift:200");
            }
        }
        if (Double.isNaN(zipf)) {
            throw new IllegalArgumentException("--synthetic " + spec + ": expected zipf:S[,drift:D], e.g. zipf:1.2,drift:200");
        }
        return new SyntheticTrace(zipf, drift, steps, tokensPerStep, seed);
    }

    /** Routes every step through {@code config}'s MoE layers and hands the counts to {@code sink}, step by step. */
    public void replay(ModelConfig config, TraceSink sink) {
        SplittableRandom random = new SplittableRandom(seed);
        int experts = config.nRoutedExperts();
        int perToken = Math.min(config.numExpertsPerTok(), experts);
        double[] cumulative = cumulativeZipf(experts);
        int[][] ranked = new int[config.numHiddenLayers()][];
        for (int step = 0; step < steps; step++) {
            boolean redraw = step == 0 || driftSteps > 0 && step % driftSteps == 0;
            for (int layer = 0; layer < ranked.length; layer++) {
                if (!config.isMoeLayer(layer)) {
                    continue;
                }
                if (redraw) {
                    ranked[layer] = permutation(experts, random);
                }
                long[] counts = route(cumulative, perToken, random);
                for (int rank = 0; rank < experts; rank++) {
                    if (counts[rank] > 0) {
                        sink.tokens(step, layer, ranked[layer][rank], counts[rank]);
                    }
                }
            }
        }
    }

    /** Tokens per rank for one step of one layer, each token on distinct ranks drawn by popularity. */
    private long[] route(double[] cumulative, int perToken, SplittableRandom random) {
        long[] counts = new long[cumulative.length];
        boolean[] picked = new boolean[cumulative.length];
        for (int token = 0; token < tokensPerStep; token++) {
            int[] ranks = new int[perToken];
            for (int k = 0; k < perToken; k++) {
                int rank;
                do {
                    rank = draw(cumulative, random);
                } while (picked[rank]);
                picked[rank] = true;
                ranks[k] = rank;
            }
            for (int rank : ranks) {
                picked[rank] = false;
                counts[rank]++;
            }
        }
        return counts;
    }

    /** The rank whose share of the cumulative popularity a uniform draw falls in. */
    private static int draw(double[] cumulative, SplittableRandom random) {
        double u = random.nextDouble() * cumulative[cumulative.length - 1];
        int low = 0;
        int high = cumulative.length - 1;
        while (low < high) {
            int mid = (low + high) >>> 1;
            if (cumulative[mid] > u) {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        return low;
    }

    private double[] cumulativeZipf(int experts) {
        double[] cumulative = new double[experts];
        double sum = 0;
        for (int rank = 0; rank < experts; rank++) {
            sum += 1 / Math.pow(rank + 1, zipf);
            cumulative[rank] = sum;
        }
        return cumulative;
    }

    /** ranked[r]: the expert of rank r, a Fisher-Yates shuffle. */
    private static int[] permutation(int experts, SplittableRandom random) {
        int[] order = new int[experts];
        for (int i = 0; i < experts; i++) {
            order[i] = i;
        }
        for (int i = experts - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int swap = order[i];
            order[i] = order[j];
            order[j] = swap;
        }
        return order;
    }
}
