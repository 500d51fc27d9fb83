package dev.expertmesh.client.loadgen;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a serving benchmark measured, as vLLM's benchmark_serving reports it: throughput over the
 * whole run, and per request the time to first token (TTFT), the time per output token after the
 * first (TPOT, requests of more than one token), the inter-token latencies (ITL, every gap between
 * deltas of every request) and the end-to-end latency (E2EL). Tokens count completed requests only.
 *
 * @param firstError the message of the first failed request, if one failed
 * @param windows    the run split into the spec's windows; empty when it asks for none
 */
public record BenchmarkReport(BenchmarkSpec spec, double durationSeconds, int completed, int failed, long totalInputTokens,
                              long totalOutputTokens, LatencyStats ttft, LatencyStats tpot, LatencyStats itl, LatencyStats e2el,
                              Optional<String> firstError, List<WindowStats> windows) {
    private static final int WIDTH = 50;

    static BenchmarkReport of(BenchmarkSpec spec, List<RequestResult> results, double durationSeconds) {
        List<RequestResult> done = results.stream().filter(RequestResult::succeeded).toList();
        return new BenchmarkReport(spec, durationSeconds, done.size(), results.size() - done.size(),
                done.stream().mapToLong(RequestResult::promptTokens).sum(),
                done.stream().mapToLong(RequestResult::outputTokens).sum(),
                LatencyStats.of(done.stream().mapToDouble(r -> r.ttft() * 1000).toArray()),
                LatencyStats.of(done.stream().filter(r -> r.outputTokens() > 1).mapToDouble(r -> r.tpot() * 1000).toArray()),
                LatencyStats.of(done.stream().flatMapToDouble(r -> java.util.Arrays.stream(r.interTokenLatencies())).map(s -> s * 1000).toArray()),
                LatencyStats.of(done.stream().mapToDouble(r -> r.e2e() * 1000).toArray()),
                results.stream().flatMap(r -> r.error().stream()).findFirst(),
                spec.windowSeconds() > 0 ? WindowStats.split(results, spec.windowSeconds(), durationSeconds) : List.of());
    }

    public double requestThroughput() {
        return completed / durationSeconds;
    }

    public double inputThroughput() {
        return totalInputTokens / durationSeconds;
    }

    public double outputThroughput() {
        return totalOutputTokens / durationSeconds;
    }

    /** The report as one flat JSON object's fields, named as vLLM names them (request_rate "inf" when all arrive at once). */
    public Map<String, Object> fields() {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("num_prompts", spec.numPrompts());
        fields.put("request_rate", Double.isInfinite(spec.requestRate()) ? "inf" : spec.requestRate());
        fields.put("max_concurrency", spec.maxConcurrency() == 0 ? null : spec.maxConcurrency());
        fields.put("duration", durationSeconds);
        fields.put("completed", completed);
        fields.put("failed", failed);
        fields.put("total_input_tokens", totalInputTokens);
        fields.put("total_output_tokens", totalOutputTokens);
        fields.put("request_throughput", requestThroughput());
        fields.put("input_throughput", inputThroughput());
        fields.put("output_throughput", outputThroughput());
        fields.put("total_token_throughput", inputThroughput() + outputThroughput());
        latencyFields(fields, "ttft", ttft);
        latencyFields(fields, "tpot", tpot);
        latencyFields(fields, "itl", itl);
        latencyFields(fields, "e2el", e2el);
        if (!windows.isEmpty()) {
            fields.put("window_seconds", spec.windowSeconds());
            fields.put("windows", windows.stream().map(WindowStats::fields).toList());
        }
        return fields;
    }

    private static void latencyFields(Map<String, Object> fields, String name, LatencyStats stats) {
        fields.put("mean_" + name + "_ms", stats.mean());
        fields.put("median_" + name + "_ms", stats.median());
        fields.put("std_" + name + "_ms", stats.std());
        fields.put("p90_" + name + "_ms", stats.p90());
        fields.put("p99_" + name + "_ms", stats.p99());
    }

    /** The report as vLLM's benchmark_serving prints it, then the windows' table if there are windows. */
    public String table() {
        StringBuilder t = new StringBuilder();
        t.append(rule(" Serving Benchmark Result ", '='));
        row(t, "Successful requests:", String.valueOf(completed));
        row(t, "Failed requests:", String.valueOf(failed));
        row(t, "Benchmark duration (s):", "%.2f".formatted(durationSeconds));
        row(t, "Total input tokens:", String.valueOf(totalInputTokens));
        row(t, "Total generated tokens:", String.valueOf(totalOutputTokens));
        row(t, "Request throughput (req/s):", "%.2f".formatted(requestThroughput()));
        row(t, "Input token throughput (tok/s):", "%.2f".formatted(inputThroughput()));
        row(t, "Output token throughput (tok/s):", "%.2f".formatted(outputThroughput()));
        row(t, "Total Token throughput (tok/s):", "%.2f".formatted(inputThroughput() + outputThroughput()));
        latencyRows(t, "Time to First Token", "TTFT", ttft);
        latencyRows(t, "Time per Output Token (excl. 1st token)", "TPOT", tpot);
        latencyRows(t, "Inter-token Latency", "ITL", itl);
        latencyRows(t, "End-to-end Latency", "E2EL", e2el);
        t.append("=".repeat(WIDTH)).append('\n');
        if (!windows.isEmpty()) {
            t.append("Requests by the window they ended in (latencies in ms):\n").append(WindowStats.header()).append('\n');
            windows.forEach(w -> t.append(w.row()).append('\n'));
        }
        return t.toString();
    }

    private static void latencyRows(StringBuilder t, String header, String name, LatencyStats stats) {
        t.append(rule(header, '-'));
        row(t, "Mean " + name + " (ms):", "%.2f".formatted(stats.mean()));
        row(t, "Median " + name + " (ms):", "%.2f".formatted(stats.median()));
        row(t, "P90 " + name + " (ms):", "%.2f".formatted(stats.p90()));
        row(t, "P99 " + name + " (ms):", "%.2f".formatted(stats.p99()));
    }

    private static void row(StringBuilder t, String label, String value) {
        t.append("%-40s %-10s".formatted(label, value).stripTrailing()).append('\n');
    }

    /** {@code title} centred in a line of {@code fill}. */
    private static String rule(String title, char fill) {
        int left = (WIDTH - title.length()) / 2;
        int right = WIDTH - title.length() - left;
        return String.valueOf(fill).repeat(Math.max(0, left)) + title + String.valueOf(fill).repeat(Math.max(0, right)) + '\n';
    }
}
