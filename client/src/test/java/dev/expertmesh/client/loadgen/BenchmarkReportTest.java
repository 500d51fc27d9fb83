package dev.expertmesh.client.loadgen;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class BenchmarkReportTest {
    private static final BenchmarkSpec SPEC = new BenchmarkSpec(3, Double.POSITIVE_INFINITY, 0, 10, 0, 4, 0, 0, 0);

    @Test
    void throughputAndLatenciesCountCompletedRequests() {
        List<RequestResult> results = List.of(
                RequestResult.completed(10, 4, 0.1, new double[]{0.2, 0.2, 0.2}, 0.7, 0.7),
                RequestResult.completed(12, 1, 0.3, new double[0], 0.3, 1.0),
                RequestResult.failed(9, "coordinator x: RESOURCE_EXHAUSTED", 1.5));
        BenchmarkReport report = BenchmarkReport.of(SPEC, results, 2.0);
        assertThat(report.completed()).isEqualTo(2);
        assertThat(report.failed()).isEqualTo(1);
        assertThat(report.totalInputTokens()).isEqualTo(22);
        assertThat(report.totalOutputTokens()).isEqualTo(5);
        assertThat(report.requestThroughput()).isEqualTo(1.0);
        assertThat(report.outputThroughput()).isEqualTo(2.5);
        assertThat(report.ttft().mean()).isCloseTo(200, within(1e-9));
        // TTFTs of 100 and 300 ms: each 100 from their mean.
        assertThat(report.ttft().std()).isCloseTo(100, within(1e-9));
        // TPOT: only the request of more than one token, (700 - 100) ms over its 3 later tokens.
        assertThat(report.tpot().median()).isCloseTo(200, within(1e-9));
        assertThat(report.itl().p99()).isCloseTo(200, within(1e-9));
        assertThat(report.e2el().p90()).isCloseTo(300 + 0.9 * 400, within(1e-9));
        assertThat(report.firstError()).contains("coordinator x: RESOURCE_EXHAUSTED");
        assertThat(report.fields()).containsEntry("completed", 2).containsEntry("failed", 1).containsEntry("request_rate", "inf")
                .containsKeys("mean_ttft_ms", "median_tpot_ms", "p90_itl_ms", "p99_e2el_ms", "std_tpot_ms", "std_itl_ms", "std_e2el_ms")
                .containsEntry("std_ttft_ms", report.ttft().std());
    }

    @Test
    void theTableHasVllmsLayout() {
        String table = BenchmarkReport.of(SPEC, List.of(RequestResult.completed(10, 4, 0.1, new double[]{0.2, 0.2, 0.2}, 0.7, 0.7)), 1.0).table();
        assertThat(table.lines()).first().isEqualTo("============ Serving Benchmark Result ============");
        assertThat(table).contains("Successful requests:                     1\n")
                .contains("Benchmark duration (s):                  1.00\n")
                .contains("---------------Time to First Token----------------\n")
                .contains("Mean TTFT (ms):                          100.00\n")
                .contains("P99 E2EL (ms):                           700.00\n");
        assertThat(table.lines()).allSatisfy(line -> assertThat(line.length()).isLessThanOrEqualTo(51));
    }
}
