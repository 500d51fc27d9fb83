package dev.expertmesh.client.loadgen;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class ArrivalsTest {
    @Test
    void poissonGapsHaveTheMeanAndSpreadOfTheExponentialDistribution() {
        int n = 20_000;
        double rate = 4;
        double[] offsets = Arrivals.offsets(n, rate, new Random(7));
        assertThat(offsets[0]).isZero();
        double[] gaps = new double[n - 1];
        for (int i = 1; i < n; i++) {
            gaps[i - 1] = offsets[i] - offsets[i - 1];
        }
        assertThat(Arrays.stream(gaps).min().orElseThrow()).isGreaterThanOrEqualTo(0);
        double mean = Arrays.stream(gaps).average().orElseThrow();
        double sd = Math.sqrt(Arrays.stream(gaps).map(g -> (g - mean) * (g - mean)).sum() / (gaps.length - 1));
        // The exponential's standard deviation is its mean, 1 / rate: the sample mean lies within 5
        // standard errors of it, and the sample deviation (standard error about sqrt(2) times as large
        // relative to it, from the fourth moment 9 / rate^4) within 5 of its own.
        double standardError = (1 / rate) / Math.sqrt(gaps.length);
        assertThat(mean).isCloseTo(1 / rate, within(5 * standardError));
        assertThat(sd).isCloseTo(1 / rate, within(5 * Math.sqrt(2) * standardError));
    }

    @Test
    void theSameSeedGivesTheSameArrivalsAndAnotherSeedOthers() {
        assertThat(Arrivals.offsets(100, 2, new Random(1))).containsExactly(Arrivals.offsets(100, 2, new Random(1)));
        assertThat(Arrivals.offsets(100, 2, new Random(1))).isNotEqualTo(Arrivals.offsets(100, 2, new Random(2)));
    }

    @Test
    void anInfiniteRateSendsEveryRequestAtOnce() {
        assertThat(Arrivals.offsets(50, Double.POSITIVE_INFINITY, new Random(1))).containsOnly(0.0);
    }
}
