package dev.expertmesh.launcher.bench;

import dev.expertmesh.attention.CacheUsage;
import dev.expertmesh.attention.ResidentAttentionStage;
import dev.expertmesh.attention.SequenceChunk;

import java.util.List;
import java.util.function.IntFunction;

/**
 * A resident attention stage that logs each computing call on the track {@code track} gives its
 * micro-batch: its forward calls in one process, its attentionOutput calls (micro-batch 0, as a
 * worker is not told it) on an attention worker.
 */
record TimedResidentAttentionStage(ResidentAttentionStage stage, CallLog log, IntFunction<Track> track) implements ResidentAttentionStage {

    @Override
    public float[] forward(int layer, int microBatch, List<SequenceChunk> chunks, float[] hidden) {
        return log.timed(track.apply(microBatch), StageCall.Stage.ATTENTION, layer, chunks.getFirst().sequenceId(),
                TimedAttentionStage.rows(chunks), () -> stage.forward(layer, microBatch, chunks, hidden));
    }

    @Override
    public float[] attentionOutput(int layer, List<SequenceChunk> chunks, float[] hidden) {
        return log.timed(track.apply(0), StageCall.Stage.ATTENTION, layer, chunks.getFirst().sequenceId(),
                TimedAttentionStage.rows(chunks), () -> stage.attentionOutput(layer, chunks, hidden));
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
