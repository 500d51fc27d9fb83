package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.client.ExpertMeshClient;
import dev.expertmesh.client.loadgen.BenchmarkReport;
import dev.expertmesh.client.loadgen.BenchmarkSpec;
import dev.expertmesh.client.loadgen.LoadGenerator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Load-tests a cluster in the manner of vLLM's benchmark_serving: random token-id prompts at Poisson "
                + "arrival times, each generating its output length past eos, then throughput and the time to first token, "
                + "time per output token, inter-token and end-to-end latencies (mean, median, p90, p99).")
final class BenchServeCommand implements Callable<Integer> {
    enum Format { table, json }

    @Option(names = "--coordinator", required = true, split = ",", paramLabel = "HOST:PORT",
            description = "The coordinator's gRPC address; several, comma-separated, share the requests.")
    List<String> coordinators;

    @Option(names = "--num-prompts", defaultValue = "100", paramLabel = "N", description = "Requests sent. Default: ${DEFAULT-VALUE}.")
    int numPrompts;

    @Option(names = "--request-rate", defaultValue = "inf", paramLabel = "R",
            description = "Mean requests per second (Poisson arrivals), or inf to send them all at once. Default: ${DEFAULT-VALUE}.")
    String requestRate;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S",
            description = "Seeds the prompts, their lengths and the arrival times. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--input-len", defaultValue = "1024", paramLabel = "L", description = "Mean prompt length in tokens. Default: ${DEFAULT-VALUE}.")
    int inputLen;

    @Option(names = "--input-len-range", defaultValue = "0", paramLabel = "F",
            description = "Prompt lengths are uniform in [L(1-F), L(1+F)]. Default: ${DEFAULT-VALUE}.")
    double inputLenRange;

    @Option(names = "--output-len", defaultValue = "128", paramLabel = "L", description = "Mean output length in tokens. Default: ${DEFAULT-VALUE}.")
    int outputLen;

    @Option(names = "--output-len-range", defaultValue = "0", paramLabel = "F",
            description = "Output lengths are uniform in [L(1-F), L(1+F)]. Default: ${DEFAULT-VALUE}.")
    double outputLenRange;

    @Option(names = "--max-concurrency", defaultValue = "0", paramLabel = "C",
            description = "Requests in flight at most; 0 (the default) sets no limit.")
    int maxConcurrency;

    @Option(names = "--format", defaultValue = "table", paramLabel = "FORMAT",
            description = "table (as vLLM prints it) or json (one line). Default: ${DEFAULT-VALUE}.")
    Format format;

    @Option(names = "--request-timeout", defaultValue = "600", paramLabel = "SECONDS", description = "A request still running "
            + "after this long fails (so a coordinator that stops answering ends the run). Default: ${DEFAULT-VALUE}.")
    long requestTimeoutSeconds;

    @Option(names = "--window", defaultValue = "0", paramLabel = "SECONDS", description = "Also report each window of SECONDS of "
            + "the run: requests completed and failed, and TTFT, TPOT and E2EL p50 and p99 of those that ended in it, so that a "
            + "fault's before, during and after show; 0 (the default) reports none.")
    double windowSeconds;

    @Option(names = "--output", paramLabel = "FILE", description = "Also write the result to FILE as one JSON object.")
    Path output;

    @Mixin
    CoordinatorAccess access;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        BenchmarkSpec benchmark = new BenchmarkSpec(numPrompts, rate(requestRate), seed, inputLen, inputLenRange, outputLen,
                outputLenRange, maxConcurrency, windowSeconds);
        PrintWriter err = spec.commandLine().getErr();
        err.printf("%d requests to %s, %s%n", numPrompts, String.join(", ", coordinators),
                Double.isInfinite(benchmark.requestRate()) ? "all at once" : benchmark.requestRate() + " per second");
        BenchmarkReport report;
        try (ExpertMeshClient client = access.client().addresses(coordinators)
                .defaultDeadline(Duration.ofSeconds(requestTimeoutSeconds)).build()) {
            report = new LoadGenerator(client).run(benchmark);
        }
        report.firstError().ifPresent(e -> err.println(report.failed() + " requests failed; the first: " + e));
        String json = new ObjectMapper().writeValueAsString(report.fields());
        PrintWriter out = spec.commandLine().getOut();
        out.print(format == Format.json ? json + "\n" : report.table());
        out.flush();
        if (output != null) {
            Files.writeString(output, json + "\n");
        }
        return 0;
    }

    private static double rate(String value) {
        if (value.equals("inf")) {
            return Double.POSITIVE_INFINITY;
        }
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--request-rate: expected requests per second or inf, got '" + value + "'");
        }
    }
}
