package dev.expertmesh.launcher.bench;

import java.util.List;
import java.util.Locale;

/**
 * What {@code bench decode} measured: the setting, the device's copy bandwidth and a row per batch size.
 */
public record DecodeReport(String device, String deployment, int layers, int context, int steps, double copyGbPerSecond,
                           List<DecodeRow> rows) {

    public String table() {
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT,
                "Decode on %s (%s), DeepSeek-V2-Lite shape with %d layers, random bf16 weights; %d cached tokens, %d steps%n"
                        + "copy bandwidth (read + write): %s, next to the GB/s the weights stream at%n",
                device, deployment, layers, context, steps,
                String.format(Locale.ROOT, "%.1f GB/s", copyGbPerSecond)));
        out.append(String.format(Locale.ROOT, "%6s %10s %10s %10s %10s %10s %10s %9s %9s%n",
                "batch", "tok/s", "step ms", "attn ms", "experts ms", "transp ms", "other ms", "GB/step", "GB/s"));
        for (DecodeRow r : rows) {
            out.append(String.format(Locale.ROOT, "%6d %10.1f %10.2f %10.2f %10.2f %10.2f %10.2f %9.3f %9.1f%n",
                    r.batch(), r.tokensPerSecond(), r.stepMs(), r.attentionMs(), r.expertsMs(), r.transportMs(), r.otherMs(),
                    r.weightGbPerStep(), r.achievedGbPerSecond()));
        }
        return out.toString();
    }
}
