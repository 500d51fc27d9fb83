package dev.expertmesh.launcher.bench;

/**
 * One format's and batch size's decode steps: their mean time, the tokens/s it gives and that over
 * the same batch's without quantization in the same run, where the time went (attention, experts,
 * transport on a cluster, and the rest: embeddings, norms, routers, lm_head), and the weight bytes a
 * step streams over its time next to the device's copy bandwidth.
 */
public record DecodeRow(String format, int batch, double stepMs, double tokensPerSecond, double tokensPerSecondVsNone,
                        double attentionMs, double expertsMs, double transportMs, double otherMs, double weightGbPerStep,
                        double achievedGbPerSecond) {

    static DecodeRow of(String format, int batch, int steps, long elapsedNanos, TimeSplit split, long weightBytes) {
        double stepMs = elapsedNanos / 1e6 / steps;
        double attentionMs = split.attentionNanos() / 1e6 / steps;
        double expertsMs = split.expertNanos() / 1e6 / steps;
        double transportMs = split.transportNanos() / 1e6 / steps;
        double weightGb = weightBytes / 1e9 / steps;
        return new DecodeRow(format, batch, stepMs, batch * 1000 / stepMs, 1, attentionMs, expertsMs, transportMs,
                Math.max(0, stepMs - attentionMs - expertsMs - transportMs), weightGb, weightGb * 1000 / stepMs);
    }

    /** This row with its tokens/s set against {@code none}'s, the same batch without quantization. */
    DecodeRow against(DecodeRow none) {
        return new DecodeRow(format, batch, stepMs, tokensPerSecond, tokensPerSecond / none.tokensPerSecond, attentionMs, expertsMs,
                transportMs, otherMs, weightGbPerStep, achievedGbPerSecond);
    }

    /** The step's time if it did nothing but stream its weights at {@code gbPerSecond}. */
    public double streamingFloorMs(double gbPerSecond) {
        return weightGbPerStep * 1000 / gbPerSecond;
    }
}
