package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.cuda.device.Device;
import dev.expertmesh.demo.V2LiteShape;
import dev.expertmesh.launcher.bench.DecodeBench;
import dev.expertmesh.launcher.bench.DecodeReport;
import dev.expertmesh.launcher.bench.StepTrace;
import dev.expertmesh.quantization.Quantization;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "decode", mixinStandardHelpOptions = true,
        description = "Decode throughput of a model in DeepSeek-V2-Lite's exact shape with random bf16 weights made in memory: "
                + "for each batch size and expert format, tokens/s, the time of a step and where it goes (attention, experts, on a "
                + "cluster the wire, the rest), and the weight bytes a step streams over its time next to the device's memory bandwidth (on the CPU, every core reading).")
final class BenchDecodeCommand implements Callable<Integer> {
    enum Format { table, json }

    @Option(names = "--device", defaultValue = "cpu", paramLabel = "DEVICE", description = "cpu, cuda, cuda:N, or auto "
            + "(cuda:0 when there is a GPU, else cpu). Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--batch", defaultValue = "1,8,32,128", split = ",", paramLabel = "B",
            description = "Batch sizes, comma-separated: sequences decoded together. Default: ${DEFAULT-VALUE}.")
    List<Integer> batches;

    @Option(names = "--layers", defaultValue = "" + V2LiteShape.LAYERS, paramLabel = "N",
            description = "Decoder layers (the first dense, the rest MoE); fewer than V2-Lite's for a quick run. Default: ${DEFAULT-VALUE}.")
    int layers;

    @Option(names = "--context", defaultValue = "128", paramLabel = "T",
            description = "Tokens each sequence has cached before its first (warm-up) step. Default: ${DEFAULT-VALUE}.")
    int context;

    @Option(names = "--steps", defaultValue = "16", paramLabel = "S", description = "Timed decode steps per batch size. Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(names = "--warmup", defaultValue = "50", paramLabel = "W", description = "Decode steps of one sequence each deployment "
            + "runs before it is timed, so that both are measured warm (the JIT; on a cluster gRPC, Netty and Flight). Default: ${DEFAULT-VALUE}.")
    int warmUp;

    @Option(names = "--cluster", description = "Also run a local cluster in this process on the device, next to one process, "
            + "their timed steps taking turns, with its tok/s over one process's: a coordinator, 2 expert workers and 1 attention "
            + "worker over Flight on loopback.")
    boolean cluster;

    @Option(names = "--micro-batches", defaultValue = "1", paramLabel = "M", description = "Micro-batches a --cluster's step is "
            + "split into, each a chain of its own started after the one before has had its first attention, so that one "
            + "computes while another is on the wire; 1 runs the step as one. Default: ${DEFAULT-VALUE}.")
    int microBatches;

    @Option(names = "--trace", paramLabel = "FILE", description = "Write the last timed step of every row as a Chrome trace "
            + "(JSON, opened by Perfetto or chrome://tracing): a process per row, a thread per coordinator, micro-batch and worker.")
    Path trace;

    @Option(names = "--quantize", defaultValue = "none", split = ",", paramLabel = "FORMAT",
            description = "Formats to store routed and shared experts in, comma-separated (none, int8, ...: those --quantize "
                    + "takes), each on a model loaded for it; none is measured first as the baseline of the others' ratios, "
                    + "named or not; on a --cluster, every expert worker stores its experts so. Default: ${DEFAULT-VALUE}.")
    List<String> formats;

    @Option(names = "--format", defaultValue = "table", paramLabel = "FORMAT", description = "table or json (one line). Default: ${DEFAULT-VALUE}.")
    Format format;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        DecodeBench.Settings settings = new DecodeBench.Settings(layers, context, steps, warmUp, batches, cluster, microBatches,
                formats.stream().map(Quantization::parse).toList());
        DecodeBench.Result result = DecodeBench.run(Device.select(device), settings);
        if (trace != null) {
            StepTrace.write(trace, result.steps());
        }
        DecodeReport report = result.report();
        PrintWriter out = spec.commandLine().getOut();
        out.print(format == Format.json ? new ObjectMapper().writeValueAsString(report) + "\n" : report.table());
        out.flush();
        return 0;
    }
}
