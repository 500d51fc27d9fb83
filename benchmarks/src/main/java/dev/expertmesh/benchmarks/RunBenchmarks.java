package dev.expertmesh.benchmarks;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Runs the benchmarks (always with the memory bandwidth one, the yardstick for the others) and
 * prints each one's weight bandwidth as a fraction of the machine's, then the data plane
 * against plain TCP and the local cluster's decode throughput against the single process's. Each
 * benchmark class sets its own iterations: a cluster decode step takes far longer than a matvec.
 *
 * <pre>java @jvm.options -jar benchmarks/target/benchmarks.jar [REGEX...] [--json FILE] [--jvm-options FILE]</pre>
 */
public final class RunBenchmarks {
    private RunBenchmarks() {
    }

    /** The command line: benchmark name patterns (all if none), the JSON result file, the forks' JVM flags file. */
    record Arguments(List<String> includes, Path json, Path jvmOptions) {
        static Arguments parse(String[] args) {
            List<String> includes = new ArrayList<>();
            Path json = Path.of("benchmarks/target/jmh-result.json");
            Path jvmOptions = Path.of("jvm.options");
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--json" -> json = Path.of(value(args, ++i));
                    case "--jvm-options" -> jvmOptions = Path.of(value(args, ++i));
                    default -> includes.add(args[i]);
                }
            }
            return new Arguments(includes.isEmpty() ? List.of(".*") : includes, json, jvmOptions);
        }

        private static String value(String[] args, int i) {
            if (i >= args.length) {
                throw new IllegalArgumentException(args[i - 1] + " needs a value");
            }
            return args[i];
        }
    }

    public static void main(String[] args) throws IOException, RunnerException {
        Arguments arguments = Arguments.parse(args);
        Files.createDirectories(arguments.json().toAbsolutePath().getParent());
        ChainedOptionsBuilder options = new OptionsBuilder()
                .include(MemoryBandwidthBenchmark.class.getSimpleName())
                .forks(1)
                .jvmArgsAppend(jvmFlags(arguments.jvmOptions()))
                .resultFormat(ResultFormatType.JSON)
                .result(arguments.json().toString());
        arguments.includes().forEach(options::include);
        Collection<RunResult> results = new Runner(options.build()).run();
        System.out.println();
        BandwidthTable.of(results).print(System.out);
        TransportTable transport = TransportTable.of(results);
        if (!transport.rows().isEmpty()) {
            System.out.println();
            transport.print(System.out);
        }
        DecodeThroughputTable decode = DecodeThroughputTable.of(results);
        if (!decode.rows().isEmpty()) {
            System.out.println();
            decode.print(System.out);
        }
        System.out.println("JMH results: " + arguments.json());
    }

    /** The flags every ExpertMesh JVM needs, one a line, as the build and launcher read them. */
    private static String[] jvmFlags(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file.toAbsolutePath() + " not found: run from the repository root or pass --jvm-options");
        }
        return Files.readAllLines(file).stream().map(String::strip).filter(line -> !line.isEmpty()).toArray(String[]::new);
    }
}
