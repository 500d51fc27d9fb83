package dev.expertmesh.launcher.bench;

import java.util.List;
import java.util.Locale;

/**
 * What {@code bench decode} measured: the setting, the device's copy bandwidth, the memory one routed
 * expert takes in each format, and a row per format and batch size.
 */
public record DecodeReport(String device, String deployment, int layers, int context, int steps, double copyGbPerSecond,
                           List<ExpertMemory> experts, List<DecodeRow> rows) {

    /** One routed expert's gate, up and down projections in a format, scales included. */
    public record ExpertMemory(String format, long bytes, double vsNone) {
    }

    public String table() {
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT,
                "Decode on %s (%s), DeepSeek-V2-Lite shape with %d layers, random bf16 weights; %d cached tokens, %d steps%n"
                        + "copy bandwidth (read + write): %.1f GB/s, next to the GB/s the weights stream at%n",
                device, deployment, layers, context, steps, copyGbPerSecond));
        out.append(String.format(Locale.ROOT, "%-10s %14s %8s%n", "format", "bytes/expert", "vs none"));
        for (ExpertMemory e : experts) {
            out.append(String.format(Locale.ROOT, "%-10s %14d %8.3f%n", e.format(), e.bytes(), e.vsNone()));
        }
        out.append(String.format(Locale.ROOT, "%-10s %6s %10s %8s %10s %10s %10s %10s %10s %9s %9s %9s%n",
                "format", "batch", "tok/s", "vs none", "step ms", "attn ms", "experts ms", "transp ms", "other ms", "GB/step", "GB/s",
                "floor ms"));
        for (DecodeRow r : rows) {
            out.append(String.format(Locale.ROOT, "%-10s %6d %10.1f %8.2f %10.2f %10.2f %10.2f %10.2f %10.2f %9.3f %9.1f %9.2f%n",
                    r.format(), r.batch(), r.tokensPerSecond(), r.tokensPerSecondVsNone(), r.stepMs(), r.attentionMs(), r.expertsMs(),
                    r.transportMs(), r.otherMs(), r.weightGbPerStep(), r.achievedGbPerSecond(), r.streamingFloorMs(copyGbPerSecond)));
        }
        out.append("floor ms: GB/step over the copy bandwidth, the step's time if it only streamed its weights\n");
        return out.toString();
    }
}
