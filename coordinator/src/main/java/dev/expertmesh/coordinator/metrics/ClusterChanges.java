package dev.expertmesh.coordinator.metrics;

import dev.expertmesh.proto.Recovery;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** The changes the coordinator has made to what it serves on: epoch flips, and recoveries from failed workers. */
public final class ClusterChanges {
    /** Recoveries kept for status; the counters and histogram keep counting past them. */
    private static final int KEPT = 32;
    /** Seconds: from a reroute to replicas (milliseconds) to survivors loading experts or re-prefilling (seconds). */
    private static final double[] RECOVERY_BOUNDS = {0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0};

    private final AtomicLong flips = new AtomicLong();
    private final Histogram recoverySeconds = new Histogram(RECOVERY_BOUNDS);
    private final Deque<Recovery> recent = new ArrayDeque<>();

    public void flipped() {
        flips.incrementAndGet();
    }

    public long flips() {
        return flips.get();
    }

    public synchronized void recovered(Recovery recovery) {
        recoverySeconds.observe(recovery.getSeconds());
        recent.addLast(recovery);
        if (recent.size() > KEPT) {
            recent.removeFirst();
        }
    }

    /** The latest recoveries, oldest first. */
    public synchronized List<Recovery> recoveries() {
        return List.copyOf(recent);
    }

    Histogram.Snapshot recoverySeconds() {
        return recoverySeconds.snapshot();
    }
}
