package dev.expertmesh.client.loadgen;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One time window of a benchmark run: the requests that ended in it, completed and failed, and the
 * latencies of those completed, so that a run through a fault shows before, during and after it.
 *
 * @param start seconds from the start of the run
 * @param end   seconds from the start of the run; the last window ends with the run
 */
public record WindowStats(double start, double end, int completed, int failed, LatencyStats ttft, LatencyStats tpot, LatencyStats e2el) {
    /** Splits the run into windows of {@code seconds}, every one reported, empty or not: an empty window is a stall. */
    static List<WindowStats> split(List<RequestResult> results, double seconds, double durationSeconds) {
        int count = Math.max(1, (int) Math.ceil(durationSeconds / seconds));
        List<List<RequestResult>> ended = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ended.add(new ArrayList<>());
        }
        for (RequestResult r : results) {
            ended.get(Math.min(count - 1, (int) (r.endedAt() / seconds))).add(r);
        }
        List<WindowStats> windows = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            windows.add(of(i * seconds, Math.min((i + 1) * seconds, durationSeconds), ended.get(i)));
        }
        return windows;
    }

    private static WindowStats of(double start, double end, List<RequestResult> results) {
        List<RequestResult> done = results.stream().filter(RequestResult::succeeded).toList();
        return new WindowStats(start, end, done.size(), results.size() - done.size(),
                LatencyStats.of(done.stream().mapToDouble(r -> r.ttft() * 1000).toArray()),
                LatencyStats.of(done.stream().filter(r -> r.outputTokens() > 1).mapToDouble(r -> r.tpot() * 1000).toArray()),
                LatencyStats.of(done.stream().mapToDouble(r -> r.e2e() * 1000).toArray()));
    }

    /** The window as one JSON object's fields, the latencies named as the report's. */
    public Map<String, Object> fields() {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("start", start);
        fields.put("end", end);
        fields.put("completed", completed);
        fields.put("failed", failed);
        percentileFields(fields, "ttft", ttft);
        percentileFields(fields, "tpot", tpot);
        percentileFields(fields, "e2el", e2el);
        return fields;
    }

    /** One row of the windows table: the window, completed, failed, then p50 and p99 of TTFT, TPOT and E2EL in ms. */
    String row() {
        return "%-13s %5d %6d %9.1f %9.1f %8.1f %8.1f %9.1f %9.1f".formatted("%.1f-%.1f".formatted(start, end), completed, failed,
                ttft.median(), ttft.p99(), tpot.median(), tpot.p99(), e2el.median(), e2el.p99());
    }

    static String header() {
        return "%-13s %5s %6s %9s %9s %8s %8s %9s %9s".formatted("Window (s)", "Done", "Failed", "TTFT p50", "TTFT p99", "TPOT p50",
                "TPOT p99", "E2EL p50", "E2EL p99");
    }

    private static void percentileFields(Map<String, Object> fields, String name, LatencyStats stats) {
        fields.put("median_" + name + "_ms", stats.median());
        fields.put("p99_" + name + "_ms", stats.p99());
    }
}
