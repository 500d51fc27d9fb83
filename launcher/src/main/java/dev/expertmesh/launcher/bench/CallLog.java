package dev.expertmesh.launcher.bench;

import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Supplier;

/** The stage calls of a deployment since the last clear, from every thread that times one. */
final class CallLog {
    private final Queue<StageCall> calls = new ConcurrentLinkedQueue<>();

    /** Runs {@code call}, logging when it ran. */
    float[] timed(Track track, StageCall.Stage stage, int layer, long key, int rows, Supplier<float[]> call) {
        long start = System.nanoTime();
        try {
            return call.get();
        } finally {
            calls.add(new StageCall(track, stage, layer, key, rows, start, System.nanoTime()));
        }
    }

    void clear() {
        calls.clear();
    }

    List<StageCall> calls() {
        return List.copyOf(calls);
    }
}
