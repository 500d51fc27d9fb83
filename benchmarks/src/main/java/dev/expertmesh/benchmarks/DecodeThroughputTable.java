package dev.expertmesh.benchmarks;

import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.RunResult;

import java.io.PrintStream;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Decode tokens/s of the local cluster next to the single process's, per batch, from {@link ClusterDecodeBenchmark}. */
record DecodeThroughputTable(List<Row> rows) {

    /** One batch size (and micro-batch split) on both deployments. */
    record Row(int batch, int microBatches, double singleTokensPerSecond, double localTokensPerSecond) {
    }

    /** Keyed by batch, then micro-batches, so that the rows come out in that order. */
    private record Key(int batch, int microBatches) implements Comparable<Key> {
        @Override
        public int compareTo(Key other) {
            return batch != other.batch ? Integer.compare(batch, other.batch) : Integer.compare(microBatches, other.microBatches);
        }
    }

    static DecodeThroughputTable of(Collection<RunResult> results) {
        Map<Key, Double> single = new TreeMap<>();
        Map<Key, Double> local = new TreeMap<>();
        for (RunResult result : results) {
            BenchmarkParams params = result.getParams();
            if (!params.getBenchmark().startsWith(ClusterDecodeBenchmark.class.getName() + ".")) {
                continue;
            }
            Key key = new Key(Integer.parseInt(params.getParam("batch")), Integer.parseInt(params.getParam("microBatches")));
            // The score is milliseconds per step, and a step decodes one token of each sequence.
            double tokensPerSecond = key.batch() * 1e3 / result.getPrimaryResult().getScore();
            (ClusterDecodeBenchmark.LOCAL.equals(params.getParam("deployment")) ? local : single).put(key, tokensPerSecond);
        }
        return new DecodeThroughputTable(single.keySet().stream().filter(local::containsKey)
                .map(k -> new Row(k.batch(), k.microBatches(), single.get(k), local.get(k))).toList());
    }

    void print(PrintStream out) {
        String format = "%-6s %13s %16s %16s %12s%n";
        out.printf(format, "Batch", "Micro-batches", "Single tokens/s", "Local tokens/s", "Local/single");
        for (Row r : rows) {
            out.printf(format, r.batch(), r.microBatches(), "%.1f".formatted(r.singleTokensPerSecond()),
                    "%.1f".formatted(r.localTokensPerSecond()), "%.2f".formatted(r.localTokensPerSecond() / r.singleTokensPerSecond()));
        }
        out.println("Local: 2 expert workers and 1 attention worker over the loopback data plane (bf16), all in one JVM with the coordinator.");
    }
}
