package dev.expertmesh.coordinator.routing;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Counts per cell over the last {@code capacity} steps. Adding is lock-free (one atomic add, from
 * any thread); closing a step and reading the window take the lock, once per step and per scrape.
 * Counts added while a step closes go to the next one, never lost.
 */
final class SlidingCounts {
    private final AtomicLongArray current;
    private final StepCounts[] ring;
    private final long[] window;
    /** Steps closed so far; the ring's slot of step s is s % capacity. */
    private long closed;

    SlidingCounts(int cells, int capacity) {
        this.current = new AtomicLongArray(cells);
        this.ring = new StepCounts[capacity];
        this.window = new long[cells];
    }

    void add(int cell, long n) {
        current.addAndGet(cell, n);
    }

    /** Ends the step: its counts join the window and the oldest step's leave it; returns the step's counts. */
    synchronized StepCounts closeStep() {
        StepCounts step = drain();
        int slot = (int) (closed % ring.length);
        StepCounts evicted = ring[slot];
        if (evicted != null) {
            for (int i = 0; i < evicted.cells().length; i++) {
                window[evicted.cells()[i]] -= evicted.counts()[i];
            }
        }
        for (int i = 0; i < step.cells().length; i++) {
            window[step.cells()[i]] += step.counts()[i];
        }
        ring[slot] = step;
        closed++;
        return step;
    }

    private StepCounts drain() {
        int nonZero = 0;
        long[] taken = new long[current.length()];
        for (int cell = 0; cell < taken.length; cell++) {
            taken[cell] = current.getAndSet(cell, 0);
            nonZero += taken[cell] != 0 ? 1 : 0;
        }
        if (nonZero == 0) {
            return StepCounts.EMPTY;
        }
        int[] cells = new int[nonZero];
        long[] counts = new long[nonZero];
        for (int cell = 0, i = 0; cell < taken.length; cell++) {
            if (taken[cell] != 0) {
                cells[i] = cell;
                counts[i++] = taken[cell];
            }
        }
        return new StepCounts(cells, counts);
    }

    /** Each cell's count over the window. */
    synchronized long[] window() {
        return window.clone();
    }

    /** Steps the window covers now: those closed, up to its capacity. */
    synchronized int steps() {
        return (int) Math.min(closed, ring.length);
    }

    /** Whether no step of the window counted anything. */
    synchronized boolean idle() {
        for (long c : window) {
            if (c != 0) {
                return false;
            }
        }
        return true;
    }
}
