package dev.expertmesh.launcher.bench;

import dev.expertmesh.attention.CacheUsage;
import dev.expertmesh.attention.ResidentAttentionStage;
import dev.expertmesh.attention.SequenceChunk;

import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * A resident attention stage that adds the wall time of each computing call to {@code nanos}: its
 * forward calls in one process, its attentionOutput calls on an attention worker.
 */
record TimedResidentAttentionStage(ResidentAttentionStage stage, LongAdder nanos) implements ResidentAttentionStage {

    @Override
    public float[] forward(int layer, int microBatch, List<SequenceChunk> chunks, float[] hidden) {
        return StageClock.timed(nanos, () -> stage.forward(layer, microBatch, chunks, hidden));
    }

    @Override
    public float[] attentionOutput(int layer, List<SequenceChunk> chunks, float[] hidden) {
        return StageClock.timed(nanos, () -> stage.attentionOutput(layer, chunks, hidden));
    }

    @Override
    public boolean reserve(long sequenceId, int tokens) {
        return stage.reserve(sequenceId, tokens);
    }

    @Override
    public CacheUsage cacheUsage() {
        return stage.cacheUsage();
    }

    @Override
    public CacheUsage blocksHeld() {
        return stage.blocksHeld();
    }

    @Override
    public void release(long sequenceId) {
        stage.release(sequenceId);
    }

    @Override
    public void close() {
        stage.close();
    }
}
