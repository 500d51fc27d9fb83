package dev.expertmesh.client.loadgen;

import java.util.random.RandomGenerator;

/** When each request of a benchmark is sent, in seconds from its start. */
final class Arrivals {
    private Arrivals() {
    }

    /**
     * A Poisson process of {@code rate} requests per second: the first request at 0, then gaps drawn
     * from the exponential distribution of mean 1 / rate. An infinite rate sends every request at 0.
     */
    static double[] offsets(int count, double rate, RandomGenerator random) {
        double[] offsets = new double[count];
        if (Double.isInfinite(rate)) {
            return offsets;
        }
        for (int i = 1; i < count; i++) {
            offsets[i] = offsets[i - 1] + random.nextExponential() / rate;
        }
        return offsets;
    }
}
