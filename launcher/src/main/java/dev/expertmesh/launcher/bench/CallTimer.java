package dev.expertmesh.launcher.bench;

import java.util.Optional;
import java.util.concurrent.ForkJoinPool;
import java.util.function.IntFunction;
import java.util.function.Supplier;

/**
 * How one node of the benchmark runs and logs its stage calls: on the track {@code track} gives the
 * call's micro-batch, and in {@code pool} when it has one, so that the parallel products inside run
 * on that pool's threads instead of the JVM's common pool, which every node of a local cluster
 * would share. Only the call itself is timed, not the hand-off to the pool.
 */
record CallTimer(CallLog log, IntFunction<Track> track, Optional<ForkJoinPool> pool) {

    float[] timed(int microBatch, StageCall.Stage stage, int layer, long key, int rows, Supplier<float[]> call) {
        Supplier<float[]> logged = () -> log.timed(track.apply(microBatch), stage, layer, key, rows, call);
        return pool.map(p -> p.submit(logged::get).join()).orElseGet(logged);
    }
}
