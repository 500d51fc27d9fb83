package dev.expertmesh.launcher.bench;

import dev.expertmesh.attention.AttentionStage;
import dev.expertmesh.attention.CacheUsage;
import dev.expertmesh.attention.SequenceChunk;

import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/** An attention stage that adds the wall time of each of its forward calls to {@code nanos}. */
record TimedAttentionStage(AttentionStage stage, LongAdder nanos) implements AttentionStage {

    @Override
    public float[] forward(int layer, int microBatch, List<SequenceChunk> chunks, float[] hidden) {
        return StageClock.timed(nanos, () -> stage.forward(layer, microBatch, chunks, hidden));
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
    public void release(long sequenceId) {
        stage.release(sequenceId);
    }
}
