package dev.expertmesh.client.loadgen;

import java.util.Arrays;

/** Mean, median, 90th and 99th percentiles of a latency, in milliseconds; all 0 when nothing was measured. */
public record LatencyStats(double mean, double median, double p90, double p99) {
    static LatencyStats of(double[] millis) {
        if (millis.length == 0) {
            return new LatencyStats(0, 0, 0, 0);
        }
        double[] sorted = millis.clone();
        Arrays.sort(sorted);
        return new LatencyStats(Arrays.stream(sorted).average().orElseThrow(), percentile(sorted, 50), percentile(sorted, 90),
                percentile(sorted, 99));
    }

    /** The p-th percentile of sorted values, interpolated linearly between the two nearest ranks (numpy's default, as vLLM reports). */
    static double percentile(double[] sorted, double p) {
        double rank = p / 100 * (sorted.length - 1);
        int below = (int) Math.floor(rank);
        int above = Math.min(below + 1, sorted.length - 1);
        return sorted[below] + (rank - below) * (sorted[above] - sorted[below]);
    }
}
