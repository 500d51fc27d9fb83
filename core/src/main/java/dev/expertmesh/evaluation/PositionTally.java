package dev.expertmesh.evaluation;

import java.util.Arrays;

/** Sums, position by position, what {@link EvaluationResult} reports; everything computed in double. */
final class PositionTally {
    private double[] kls = new double[1024];
    private int positions;
    private double referenceNll;
    private double candidateNll;
    private int agreements;

    /** The position whose logits start at {@code from} in both arrays and predict {@code nextToken}. */
    void add(float[] reference, float[] candidate, int from, int vocab, int nextToken) {
        double[] logP = logSoftmax(reference, from, vocab);
        double[] logQ = logSoftmax(candidate, from, vocab);
        double kl = 0;
        for (int i = 0; i < vocab; i++) {
            kl += Math.exp(logP[i]) * (logP[i] - logQ[i]);
        }
        if (positions == kls.length) {
            kls = Arrays.copyOf(kls, 2 * positions);
        }
        kls[positions++] = kl;
        referenceNll -= logP[nextToken];
        candidateNll -= logQ[nextToken];
        agreements += argmax(reference, from, vocab) == argmax(candidate, from, vocab) ? 1 : 0;
    }

    int positions() {
        return positions;
    }

    EvaluationResult result(int context) {
        if (positions == 0) {
            throw new IllegalStateException("no position was scored");
        }
        double[] sorted = Arrays.copyOf(kls, positions);
        Arrays.sort(sorted);
        return new EvaluationResult(positions, context, Math.exp(referenceNll / positions), Math.exp(candidateNll / positions),
                Arrays.stream(sorted).sum() / positions, percentile(sorted, 0.99), sorted[positions - 1],
                (double) agreements / positions);
    }

    /** The nearest-rank percentile of sorted values. */
    private static double percentile(double[] sorted, double fraction) {
        int rank = (int) Math.ceil(fraction * sorted.length);
        return sorted[Math.max(0, rank - 1)];
    }

    private static double[] logSoftmax(float[] logits, int from, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, logits[from + i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += Math.exp(logits[from + i] - max);
        }
        double logSum = max + Math.log(sum);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = logits[from + i] - logSum;
        }
        return out;
    }

    private static int argmax(float[] x, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (x[from + i] > x[from + best]) {
                best = i;
            }
        }
        return best;
    }
}
