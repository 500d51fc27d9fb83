package dev.expertmesh.coordinator.metrics;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.DoubleAdder;

/** Observations counted into buckets with fixed upper bounds, as a Prometheus histogram exposes them. */
public final class Histogram {
    private final double[] bounds;
    /** One per bound, then one for +Inf; not cumulative. */
    private final AtomicLongArray counts;
    private final DoubleAdder sum = new DoubleAdder();

    public Histogram(double... bounds) {
        this.bounds = bounds.clone();
        this.counts = new AtomicLongArray(bounds.length + 1);
    }

    public void observe(double value) {
        int bucket = Arrays.binarySearch(bounds, value);
        // An exact bound belongs to its own bucket (le is "less or equal"); otherwise the next bound up.
        counts.incrementAndGet(bucket >= 0 ? bucket : -bucket - 1);
        sum.add(value);
    }

    /** The counts and sum at this moment. */
    Snapshot snapshot() {
        long[] cumulative = new long[counts.length()];
        long running = 0;
        for (int i = 0; i < cumulative.length; i++) {
            running += counts.get(i);
            cumulative[i] = running;
        }
        return new Snapshot(bounds.clone(), cumulative, sum.sum());
    }

    /** {@code cumulative[i]}: observations at most {@code bounds[i]}; the last entry counts all of them. */
    record Snapshot(double[] bounds, long[] cumulative, double sum) {
        long count() {
            return cumulative[cumulative.length - 1];
        }
    }
}
