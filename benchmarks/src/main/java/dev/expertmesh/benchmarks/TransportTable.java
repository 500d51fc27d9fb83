package dev.expertmesh.benchmarks;

import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;

import java.io.PrintStream;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Each message size's data-plane echo next to the plain TCP echo of the same bytes, from {@link DataPlaneThroughputBenchmark}. */
record TransportTable(List<Row> rows) {
    /** JMH names an aux counter's result after its field, {@link WireBytes#wireBytes}. */
    private static final String BYTES_METRIC = "wireBytes";

    /** One message size over both transports. */
    record Row(int hiddenRows, RoundTrip dataPlane, RoundTrip tcp) {
    }

    /** Microseconds per round trip and GB/s counting both directions. */
    record RoundTrip(double micros, double gbPerSecond) {
    }

    static TransportTable of(Collection<RunResult> results) {
        Map<Integer, RoundTrip> dataPlane = new TreeMap<>();
        Map<Integer, RoundTrip> tcp = new TreeMap<>();
        for (RunResult result : results) {
            String name = result.getParams().getBenchmark();
            if (!name.startsWith(DataPlaneThroughputBenchmark.class.getName() + ".")) {
                continue;
            }
            int hiddenRows = Integer.parseInt(result.getParams().getParam("rows"));
            (name.endsWith(".dataPlaneEcho") ? dataPlane : tcp).put(hiddenRows, roundTrip(result));
        }
        return new TransportTable(dataPlane.keySet().stream().filter(tcp::containsKey)
                .map(r -> new Row(r, dataPlane.get(r), tcp.get(r))).toList());
    }

    /** The benchmark's output unit is microseconds, so the bytes counter's score is microseconds per byte. */
    private static RoundTrip roundTrip(RunResult result) {
        Result<?> timePerByte = result.getSecondaryResults().get(BYTES_METRIC);
        return new RoundTrip(result.getPrimaryResult().getScore(), 1 / (timePerByte.getScore() * 1e3));
    }

    void print(PrintStream out) {
        String format = "%-10s %10s %14s %10s %14s %12s%n";
        out.printf(format, "Message", "Data plane µs", "Data plane GB/s", "TCP µs", "TCP GB/s", "Data plane/TCP");
        for (Row r : rows) {
            out.printf(format, "%d x 4 KiB".formatted(r.hiddenRows()), "%.1f".formatted(r.dataPlane().micros()),
                    "%.2f".formatted(r.dataPlane().gbPerSecond()), "%.1f".formatted(r.tcp().micros()),
                    "%.2f".formatted(r.tcp().gbPerSecond()), "%.2f".formatted(r.dataPlane().gbPerSecond() / r.tcp().gbPerSecond()));
        }
        out.println("Loopback round trips of bf16 hidden rows of width 2048; GB/s counts both directions.");
    }
}
