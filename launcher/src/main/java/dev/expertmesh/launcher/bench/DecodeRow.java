package dev.expertmesh.launcher.bench;

/**
 * One batch size's decode steps: their mean time, the tokens/s it gives, where the time went
 * (attention, experts, transport on a cluster, and the rest: embeddings, norms, routers, lm_head),
 * and the weight bytes a step streams over its time next to the device's copy bandwidth.
 */
public record DecodeRow(int batch, double stepMs, double tokensPerSecond, double attentionMs, double expertsMs,
                        double transportMs, double otherMs, double weightGbPerStep, double achievedGbPerSecond) {

    static DecodeRow of(int batch, int steps, long elapsedNanos, TimeSplit split, long weightBytes) {
        double stepMs = elapsedNanos / 1e6 / steps;
        double attentionMs = split.attentionNanos() / 1e6 / steps;
        double expertsMs = split.expertNanos() / 1e6 / steps;
        double transportMs = split.transportNanos() / 1e6 / steps;
        double weightGb = weightBytes / 1e9 / steps;
        return new DecodeRow(batch, stepMs, batch * 1000 / stepMs, attentionMs, expertsMs, transportMs,
                Math.max(0, stepMs - attentionMs - expertsMs - transportMs), weightGb, weightGb * 1000 / stepMs);
    }
}
