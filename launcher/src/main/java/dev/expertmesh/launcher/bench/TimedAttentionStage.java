package dev.expertmesh.launcher.bench;

import dev.expertmesh.attention.AttentionStage;
import dev.expertmesh.attention.CacheUsage;
import dev.expertmesh.attention.SequenceChunk;

import java.util.List;

/** An attention stage that runs and logs each forward call as {@code timer} says: the coordinator's wait on the workers. */
record TimedAttentionStage(AttentionStage stage, CallTimer timer) implements AttentionStage {

    @Override
    public float[] forward(int layer, int microBatch, List<SequenceChunk> chunks, float[] hidden) {
        return timer.timed(microBatch, StageCall.Stage.ATTENTION, layer, chunks.getFirst().sequenceId(), rows(chunks),
                () -> stage.forward(layer, microBatch, chunks, hidden));
    }

    static int rows(List<SequenceChunk> chunks) {
        return chunks.stream().mapToInt(SequenceChunk::length).sum();
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
