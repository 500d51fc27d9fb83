package dev.expertmesh.launcher.bench;

import dev.expertmesh.attention.AttentionStage;
import dev.expertmesh.attention.CacheUsage;
import dev.expertmesh.attention.SequenceChunk;

import java.util.List;

/** An attention stage that logs each forward call on its micro-batch's track: the coordinator's wait on the workers. */
record TimedAttentionStage(AttentionStage stage, CallLog log) implements AttentionStage {

    @Override
    public float[] forward(int layer, int microBatch, List<SequenceChunk> chunks, float[] hidden) {
        return log.timed(Track.microBatch(microBatch), StageCall.Stage.ATTENTION, layer, chunks.getFirst().sequenceId(), rows(chunks),
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
