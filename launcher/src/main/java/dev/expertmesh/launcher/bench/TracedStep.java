package dev.expertmesh.launcher.bench;

import java.util.List;

/**
 * One timed step of a deployment, format and batch size, for its timeline: when it began, had its
 * embeddings, had its final norm (lm_head follows) and ended, the coordinator's stage calls with
 * their split, and the workers' calls (none in one process).
 */
public record TracedStep(String label, long startNanos, long embeddedNanos, long normedNanos, long endNanos,
                         List<TimeSplit.CallShare> calls, List<StageCall> workerCalls) {
}
