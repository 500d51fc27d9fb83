package dev.expertmesh.client.loadgen;

import java.util.Arrays;

/**
 * Mean, median, standard deviation, 90th and 99th percentiles of a latency, in milliseconds; all 0
 * when nothing was measured. The deviation is the population's (numpy.std's default, as vLLM reports).
 */
public record LatencyStats(double mean, double median, double std, double p90, double p99) {
    static LatencyStats of(double[] millis) {
        if (millis.length == 0) {
            return new LatencyStats(0, 0, 0, 0, 0);
        }
        double[] sorted = millis.clone();
        Arrays.sort(sorted);
        double mean = Arrays.stream(sorted).average().orElseThrow();
        return new LatencyStats(mean, percentile(sorted, 50), standardDeviation(sorted, mean), percentile(sorted, 90),
                percentile(sorted, 99));
    }

    private static double standardDeviation(double[] values, double mean) {
        return Math.sqrt(Arrays.stream(values).map(v -> (v - mean) * (v - mean)).sum() / values.length);
    }

    /** The p-th percentile of sorted values, interpolated linearly between the two nearest ranks (numpy's default, as vLLM reports). */
    static double percentile(double[] sorted, double p) {
        double rank = p / 100 * (sorted.length - 1);
        int below = (int) Math.floor(rank);
        int above = Math.min(below + 1, sorted.length - 1);
        return sorted[below] + (rank - below) * (sorted[above] - sorted[below]);
    }
}
