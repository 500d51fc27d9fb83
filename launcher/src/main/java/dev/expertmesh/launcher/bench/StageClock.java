package dev.expertmesh.launcher.bench;

import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/** Time spent in one place's attention and expert stages, from the last reset on. */
record StageClock(LongAdder attentionNanos, LongAdder expertNanos) {

    StageClock() {
        this(new LongAdder(), new LongAdder());
    }

    void reset() {
        attentionNanos.reset();
        expertNanos.reset();
    }

    /** Runs {@code call}, adding its wall time to {@code nanos}. */
    static float[] timed(LongAdder nanos, Supplier<float[]> call) {
        long start = System.nanoTime();
        try {
            return call.get();
        } finally {
            nanos.add(System.nanoTime() - start);
        }
    }

    long attention() {
        return attentionNanos.sum();
    }

    long experts() {
        return expertNanos.sum();
    }
}
