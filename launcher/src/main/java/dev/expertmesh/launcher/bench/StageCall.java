package dev.expertmesh.launcher.bench;

/**
 * One call of a stage, timed where it ran (System.nanoTime). {@code key} tells the calls of one
 * layer apart: the micro-batch for experts, the first sequence's id for attention (an attention
 * worker is not told the micro-batch); a worker's call answers the coordinator's call with the same
 * stage, layer and key that encloses it in time.
 */
record StageCall(Track track, Stage stage, int layer, long key, int rows, long startNanos, long endNanos) {

    enum Stage { ATTENTION, EXPERTS }

    long nanos() {
        return endNanos - startNanos;
    }

    /** Whether this is a worker's part of {@code call}, the coordinator's. */
    boolean answers(StageCall call) {
        return track.isWorker() && stage == call.stage && layer == call.layer && key == call.key
                && startNanos >= call.startNanos && endNanos <= call.endNanos;
    }
}
