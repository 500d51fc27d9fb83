package dev.expertmesh.client.loadgen;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class WindowStatsTest {
    private static final BenchmarkSpec SPEC = new BenchmarkSpec(3, 2, 0, 10, 0, 4, 0, 0, 1);
    private static final List<RequestResult> RESULTS = List.of(
            RequestResult.completed(10, 4, 0.1, new double[]{0.1, 0.1, 0.2}, 0.5, 0.5),
            RequestResult.failed(10, "expert worker gone", 1.2),
            RequestResult.completed(10, 3, 0.3, new double[]{0.4, 0.4}, 1.1, 1.4));

    @Test
    void eachRequestCountsInTheWindowItEndedInAndAnEmptyWindowIsReported() {
        List<WindowStats> windows = WindowStats.split(RESULTS, 1, 2.5);
        assertThat(windows).extracting(WindowStats::start).containsExactly(0.0, 1.0, 2.0);
        assertThat(windows).extracting(WindowStats::end).containsExactly(1.0, 2.0, 2.5);
        assertThat(windows).extracting(WindowStats::completed).containsExactly(1, 1, 0);
        assertThat(windows).extracting(WindowStats::failed).containsExactly(0, 1, 0);
        assertThat(windows.get(0).e2el().p99()).isCloseTo(500, within(1e-9));
        // (1100 - 300) ms over the 2 tokens after the first.
        assertThat(windows.get(1).tpot().median()).isCloseTo(400, within(1e-9));
        assertThat(windows.get(2).ttft().p99()).isZero();
    }

    @Test
    void theReportCarriesTheWindowsInItsJsonAndTable() {
        BenchmarkReport report = BenchmarkReport.of(SPEC, RESULTS, 2.5);
        assertThat(report.fields()).containsEntry("window_seconds", 1.0);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> windows = (List<Map<String, Object>>) report.fields().get("windows");
        assertThat(windows).hasSize(3);
        assertThat(windows.get(1)).containsEntry("start", 1.0).containsEntry("completed", 1).containsEntry("failed", 1)
                .containsEntry("median_ttft_ms", 300.0).containsKeys("p99_ttft_ms", "median_tpot_ms", "p99_tpot_ms", "median_e2el_ms", "p99_e2el_ms");
        assertThat(report.table()).contains("Window (s)     Done Failed  TTFT p50  TTFT p99")
                .containsPattern("\n1\\.0-2\\.0 +1 +1 +300\\.0 +300\\.0 +400\\.0 +400\\.0 +1100\\.0 +1100\\.0\n")
                .containsPattern("\n2\\.0-2\\.5 +0 +0 +0\\.0");
    }

    @Test
    void withoutWindowsTheReportHasNone() {
        BenchmarkReport report = BenchmarkReport.of(new BenchmarkSpec(3, 2, 0, 10, 0, 4, 0, 0, 0), RESULTS, 2.5);
        assertThat(report.windows()).isEmpty();
        assertThat(report.fields()).doesNotContainKeys("windows", "window_seconds");
        assertThat(report.table()).doesNotContain("Window (s)");
    }
}
