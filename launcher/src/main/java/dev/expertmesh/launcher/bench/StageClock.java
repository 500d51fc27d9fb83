package dev.expertmesh.launcher.bench;

import java.util.concurrent.atomic.LongAdder;

/** Time spent in one place's attention and expert stages, from the last reset on. */
record StageClock(LongAdder attentionNanos, LongAdder expertNanos) {

    StageClock() {
        this(new LongAdder(), new LongAdder());
    }

    void reset() {
        attentionNanos.reset();
        expertNanos.reset();
    }

    long attention() {
        return attentionNanos.sum();
    }

    long experts() {
        return expertNanos.sum();
    }
}
