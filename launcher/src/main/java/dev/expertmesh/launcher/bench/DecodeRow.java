package dev.expertmesh.launcher.bench;

/**
 * One deployment's, format's and batch size's decode steps: their mean time, the tokens/s it gives,
 * that over the same batch's without quantization and over one process's in the same run, where
 * the time went (attention and experts as computed, of the experts' the workers' imbalance, the
 * wire on a cluster, and the rest: embeddings, norms, routers, lm_head), and the weight bytes a
 * step streams over its time next to the device's memory bandwidth.
 */
public record DecodeRow(String deployment, String format, int batch, double stepMs, double tokensPerSecond, double tokensPerSecondVsNone,
                        double tokensPerSecondVsOneProcess, double attentionMs, double expertsMs, double imbalanceMs, double wireMs,
                        double otherMs, double weightGbPerStep, double achievedGbPerSecond) {

    static DecodeRow of(String deployment, String format, int batch, int steps, long elapsedNanos, TimeSplit split, long weightBytes) {
        double stepMs = elapsedNanos / 1e6 / steps;
        double attentionMs = split.attentionNanos() / 1e6 / steps;
        double expertsMs = split.expertNanos() / 1e6 / steps;
        double wireMs = split.wireNanos() / 1e6 / steps;
        double weightGb = weightBytes / 1e9 / steps;
        return new DecodeRow(deployment, format, batch, stepMs, batch * 1000 / stepMs, 1, 1, attentionMs, expertsMs,
                split.imbalanceNanos() / 1e6 / steps, wireMs, Math.max(0, stepMs - attentionMs - expertsMs - wireMs), weightGb,
                weightGb * 1000 / stepMs);
    }

    /** This row with its tokens/s set against {@code none}'s, the same deployment and batch without quantization. */
    DecodeRow againstNone(DecodeRow none) {
        return new DecodeRow(deployment, format, batch, stepMs, tokensPerSecond, tokensPerSecond / none.tokensPerSecond,
                tokensPerSecondVsOneProcess, attentionMs, expertsMs, imbalanceMs, wireMs, otherMs, weightGbPerStep, achievedGbPerSecond);
    }

    /** This row with its tokens/s set against {@code oneProcess}'s, the same format and batch in one process. */
    DecodeRow againstOneProcess(DecodeRow oneProcess) {
        return new DecodeRow(deployment, format, batch, stepMs, tokensPerSecond, tokensPerSecondVsNone,
                tokensPerSecond / oneProcess.tokensPerSecond, attentionMs, expertsMs, imbalanceMs, wireMs, otherMs, weightGbPerStep,
                achievedGbPerSecond);
    }

    /** The step's time if it did nothing but stream its weights at {@code gbPerSecond}. */
    public double streamingFloorMs(double gbPerSecond) {
        return weightGbPerStep * 1000 / gbPerSecond;
    }
}
