package dev.expertmesh.client.loadgen;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class LatencyStatsTest {
    @Test
    void percentilesOfOneToOneHundredAndOneAreTheirRanks() {
        // Sorted, the values are their own ranks plus one: the p-th percentile of 101 values is the value of rank p.
        List<Double> values = new ArrayList<>(IntStream.rangeClosed(1, 101).mapToObj(i -> (double) i).toList());
        Collections.shuffle(values, new Random(3));
        LatencyStats stats = LatencyStats.of(values.stream().mapToDouble(Double::doubleValue).toArray());
        // The population deviation of 1..n is sqrt((n^2 - 1) / 12).
        assertThat(stats.std()).isCloseTo(Math.sqrt((101.0 * 101 - 1) / 12), within(1e-9));
        assertThat(stats).usingRecursiveComparison().ignoringFields("std").isEqualTo(new LatencyStats(51, 51, 0, 91, 100));
    }

    @Test
    void theDeviationIsThePopulationsAsNumpyStdComputesIt() {
        // Mean 5, squared deviations summing to 32 over 8 values: 2 (the sample's, over 7, would be 2.138).
        assertThat(LatencyStats.of(new double[]{2, 4, 4, 4, 5, 5, 7, 9}).std()).isCloseTo(2, within(1e-12));
    }

    @Test
    void percentilesBetweenRanksInterpolateBetweenTheSortedNeighbours() {
        double[] values = new Random(11).doubles(37, 0, 1000).toArray();
        double[] sorted = values.clone();
        java.util.Arrays.sort(sorted);
        LatencyStats stats = LatencyStats.of(values);
        // Rank p / 100 * 36 of the sorted values: 18 exactly for the median, 32.4 and 35.64 for p90 and p99.
        assertThat(stats.median()).isEqualTo(sorted[18]);
        assertThat(stats.p90()).isCloseTo(sorted[32] + 0.4 * (sorted[33] - sorted[32]), within(1e-9));
        assertThat(stats.p99()).isCloseTo(sorted[35] + 0.64 * (sorted[36] - sorted[35]), within(1e-9));
        assertThat(stats.mean()).isCloseTo(java.util.Arrays.stream(values).sum() / 37, within(1e-9));
    }

    @Test
    void oneValueIsEveryPercentileAndNoValuesReportZero() {
        assertThat(LatencyStats.of(new double[]{4.5})).isEqualTo(new LatencyStats(4.5, 4.5, 0, 4.5, 4.5));
        assertThat(LatencyStats.of(new double[0])).isEqualTo(new LatencyStats(0, 0, 0, 0, 0));
    }
}
