package dev.expertmesh.launcher.bench;

import java.util.List;
import java.util.Locale;

/**
 * What {@code bench decode} measured: the setting, the device's memory bandwidth, the memory one routed
 * expert takes in each format, what warming each deployment took, and a row per deployment, format
 * and batch size.
 */
public record DecodeReport(String device, int layers, int context, int steps, MemoryBandwidth bandwidth, List<ExpertMemory> experts,
                           List<WarmUp> warmUps, List<DecodeRow> rows) {

    /** One routed expert's gate, up and down projections in a format, scales included. */
    public record ExpertMemory(String format, long bytes, double vsNone) {
    }

    /** The decode steps at batch 1 a deployment ran before its timed ones, and their time. */
    public record WarmUp(String deployment, String format, int microBatches, int steps, double seconds) {
    }

    public String table() {
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT,
                "Decode on %s, DeepSeek-V2-Lite shape with %d layers, random bf16 weights; %d cached tokens, %d steps%n"
                        + "memory bandwidth (%s): %.1f GB/s, next to the GB/s the weights stream at%n",
                device, layers, context, steps, bandwidth.measure(), bandwidth.gbPerSecond()));
        out.append(String.format(Locale.ROOT, "%-10s %14s %8s%n", "format", "bytes/expert", "vs none"));
        for (ExpertMemory e : experts) {
            out.append(String.format(Locale.ROOT, "%-10s %14d %8.3f%n", e.format(), e.bytes(), e.vsNone()));
        }
        for (WarmUp w : warmUps) {
            out.append(String.format(Locale.ROOT, "warm-up: %s (%s, %d micro-batch%s), %d steps at batch 1 in %.1f s%n", w.deployment(),
                    w.format(), w.microBatches(), w.microBatches() == 1 ? "" : "es", w.steps(), w.seconds()));
        }
        out.append(String.format(Locale.ROOT, "%-13s %-10s %5s %8s %7s %8s %9s %8s %8s %8s %8s %8s %8s %7s %8s%n",
                "deployment", "format", "batch", "tok/s", "vs none", "vs 1 proc", "step ms", "attn ms", "expert ms", "imbal ms",
                "wire ms", "other ms", "GB/step", "GB/s", "floor ms"));
        for (DecodeRow r : rows) {
            out.append(String.format(Locale.ROOT, "%-13s %-10s %5d %8.1f %7.2f %8.2f %9.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.3f %7.1f %8.2f%n",
                    r.deployment(), r.format(), r.batch(), r.tokensPerSecond(), r.tokensPerSecondVsNone(), r.tokensPerSecondVsOneProcess(),
                    r.stepMs(), r.attentionMs(), r.expertsMs(), r.imbalanceMs(), r.wireMs(), r.otherMs(), r.weightGbPerStep(),
                    r.achievedGbPerSecond(), r.streamingFloorMs(bandwidth.gbPerSecond())));
        }
        out.append("""
                attn ms, expert ms: the stages' computing (on a cluster, per call the slowest worker it went to); imbal ms: of \
                expert ms, the slowest expert worker's computing beyond the mean of both; wire ms: the coordinator's waits beyond \
                that computing; other ms: the rest of the step (embeddings, norms, routers, lm_head); floor ms: GB/step over \
                the memory bandwidth, the step's time if it only streamed its weights
                """);
        return out.toString();
    }
}
