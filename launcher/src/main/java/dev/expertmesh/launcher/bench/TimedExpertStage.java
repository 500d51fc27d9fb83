package dev.expertmesh.launcher.bench;

import dev.expertmesh.moe.ExpertRoutes;
import dev.expertmesh.moe.ExpertStage;

import java.util.concurrent.atomic.LongAdder;

/** An expert stage that adds the wall time of each of its forward calls to {@code nanos}. */
record TimedExpertStage(ExpertStage stage, LongAdder nanos) implements ExpertStage {

    @Override
    public float[] forward(int layer, int microBatch, float[] x, ExpertRoutes routes) {
        return StageClock.timed(nanos, () -> stage.forward(layer, microBatch, x, routes));
    }
}
