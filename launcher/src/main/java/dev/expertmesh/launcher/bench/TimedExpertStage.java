package dev.expertmesh.launcher.bench;

import dev.expertmesh.moe.ExpertRoutes;
import dev.expertmesh.moe.ExpertStage;

import java.util.function.IntFunction;

/** An expert stage that logs each forward call on the track {@code track} gives its micro-batch. */
record TimedExpertStage(ExpertStage stage, CallLog log, IntFunction<Track> track) implements ExpertStage {

    @Override
    public float[] forward(int layer, int microBatch, float[] x, ExpertRoutes routes) {
        return log.timed(track.apply(microBatch), StageCall.Stage.EXPERTS, layer, microBatch, routes.tokens(),
                () -> stage.forward(layer, microBatch, x, routes));
    }
}
