package dev.expertmesh.launcher.bench;

import dev.expertmesh.attention.CacheUsage;
import dev.expertmesh.attention.ResidentAttentionStage;
import dev.expertmesh.attention.SequenceChunk;

import java.util.List;

/**
 * A resident attention stage that runs and logs each computing call as {@code timer} says: its
 * forward calls in one process, its attentionOutput calls (as micro-batch 0: a worker is not told
 * it) on an attention worker.
 */
record TimedResidentAttentionStage(ResidentAttentionStage stage, CallTimer timer) implements ResidentAttentionStage {

    @Override
    public float[] forward(int layer, int microBatch, List<SequenceChunk> chunks, float[] hidden) {
        return timer.timed(microBatch, StageCall.Stage.ATTENTION, layer, chunks.getFirst().sequenceId(),
                TimedAttentionStage.rows(chunks), () -> stage.forward(layer, microBatch, chunks, hidden));
    }

    @Override
    public float[] attentionOutput(int layer, List<SequenceChunk> chunks, float[] hidden) {
        return timer.timed(0, StageCall.Stage.ATTENTION, layer, chunks.getFirst().sequenceId(),
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
