package dev.expertmesh.launcher.bench;

import dev.expertmesh.moe.ExpertRoutes;
import dev.expertmesh.moe.ExpertStage;

/** An expert stage that runs and logs each forward call as {@code timer} says. */
record TimedExpertStage(ExpertStage stage, CallTimer timer) implements ExpertStage {

    @Override
    public float[] forward(int layer, int microBatch, float[] x, ExpertRoutes routes) {
        return timer.timed(microBatch, StageCall.Stage.EXPERTS, layer, microBatch, routes.tokens(),
                () -> stage.forward(layer, microBatch, x, routes));
    }
}
