package dev.expertmesh.benchmarks;

import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;

import java.io.PrintStream;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Time per operation and weight bytes streamed per second for each benchmark that counts them, against the measured memory bandwidth. */
record BandwidthTable(List<Row> rows, double memoryGbPerSecond) {
    /** JMH names an aux counter's result after its field, {@link BytesStreamed#weightBytes}. */
    private static final String BYTES_METRIC = "weightBytes";

    /** One benchmark with one set of parameters. */
    record Row(String benchmark, String params, double millisPerOp, double gbPerSecond) {
    }

    static BandwidthTable of(Collection<RunResult> results) {
        List<Row> rows = results.stream().filter(r -> r.getSecondaryResults().containsKey(BYTES_METRIC)).map(BandwidthTable::row).toList();
        double memory = rows.stream()
                .filter(r -> r.benchmark().startsWith(MemoryBandwidthBenchmark.class.getSimpleName()))
                .mapToDouble(Row::gbPerSecond).findFirst().orElse(Double.NaN);
        return new BandwidthTable(rows, memory);
    }

    private static Row row(RunResult result) {
        BenchmarkParams params = result.getParams();
        String name = params.getBenchmark();
        String shortName = name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1);
        String paramText = String.join(" ", params.getParamsKeys().stream().map(k -> k + "=" + params.getParam(k)).toList());
        // In average-time mode JMH divides time by every counter: the primary score is time per call,
        // the bytes counter's is time per byte streamed, in the benchmark's output time unit.
        double nanosPerUnit = params.getTimeUnit().toNanos(1);
        double millisPerOp = result.getPrimaryResult().getScore() * nanosPerUnit / TimeUnit.MILLISECONDS.toNanos(1);
        Result<?> timePerByte = result.getSecondaryResults().get(BYTES_METRIC);
        double gbPerSecond = timePerByte == null ? Double.NaN : 1 / (timePerByte.getScore() * nanosPerUnit);
        return new Row(shortName, paramText, millisPerOp, gbPerSecond);
    }

    void print(PrintStream out) {
        String format = "%-38s %-18s %12s %10s %14s%n";
        out.printf(format, "Benchmark", "Params", "ms/op", "GB/s", "of memory BW");
        for (Row r : rows) {
            out.printf(format, r.benchmark(), r.params(), "%.3f".formatted(r.millisPerOp()),
                    "%.2f".formatted(r.gbPerSecond()), "%.0f%%".formatted(100 * r.gbPerSecond() / memoryGbPerSecond));
        }
        out.printf("Memory read bandwidth measured in this run: %.2f GB/s%n", memoryGbPerSecond);
    }
}
