package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.demo.DemoModel;
import dev.expertmesh.demo.V2LiteShape;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.placement.PlacementPolicy;
import dev.expertmesh.simulation.LoadWindows;
import dev.expertmesh.simulation.PlacementReplay;
import dev.expertmesh.simulation.PolicyOutcome;
import dev.expertmesh.simulation.ReplayWindow;
import dev.expertmesh.simulation.SimulatedCluster;
import dev.expertmesh.simulation.SyntheticTrace;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;

@Command(name = "simulate", mixinStandardHelpOptions = true,
        description = "Replays a routing trace (recorded with coordinator --record-routing, or synthetic) against placement policies: "
                + "per MoE layer the busiest worker's tokens over the mean one's, the step time predicted against contiguous placement "
                + "(the busiest worker sets each layer's time), and the routed experts' memory per worker.")
final class BalanceSimulateCommand implements Callable<Integer> {
    private static final String CONTIGUOUS = "contiguous";

    @ArgGroup(multiplicity = "1")
    Source source;

    static final class Source {
        @Option(names = "--trace", paramLabel = "FILE", description = "An Arrow IPC routing trace, as coordinator --record-routing writes it.")
        Path trace;

        @Option(names = "--synthetic", paramLabel = "zipf:S[,drift:D]",
                description = "A made-up trace: each layer's experts Zipf(S)-popular in a random order, the order drawn again every D steps "
                        + "(never without drift).")
        String synthetic;
    }

    @Option(names = "--model", paramLabel = "DIR",
            description = "The model the trace routes through (only its config.json is read), or 'demo'. Default: DeepSeek-V2-Lite's config.")
    String model;

    @Option(names = "--workers", required = true, paramLabel = "N", description = "Expert workers to place on.")
    int workers;

    @Option(names = "--nodes", defaultValue = "1", paramLabel = "M",
            description = "Machines the workers are spread over evenly (eplb-hierarchical keeps expert groups on one). Default: ${DEFAULT-VALUE}.")
    int nodes;

    @Option(names = "--redundant", defaultValue = "0", paramLabel = "R",
            description = "Extra replicas of routed experts per MoE layer, as the coordinator's --redundant-experts. Default: ${DEFAULT-VALUE}.")
    int redundant;

    @Option(names = "--policy", split = ",", paramLabel = "P", defaultValue = "contiguous,eplb-global,eplb-hierarchical,memory-weighted",
            description = "Placement policies to compare, as the coordinator's --placement names them. Default: ${DEFAULT-VALUE}.")
    List<String> policies;

    @Option(names = "--window-steps", defaultValue = "0", paramLabel = "W",
            description = "Place again every W steps on the W steps before, as live rebalancing would (the first window on equal loads); "
                    + "0 places once on the whole trace, the best a placement can know. Default: ${DEFAULT-VALUE}.")
    int windowSteps;

    @Option(names = "--steps", defaultValue = "1000", paramLabel = "S", description = "--synthetic: steps. Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(names = "--tokens-per-step", defaultValue = "64", paramLabel = "T",
            description = "--synthetic: tokens each step routes through every MoE layer. Default: ${DEFAULT-VALUE}.")
    int tokensPerStep;

    @Option(names = "--seed", defaultValue = "1", paramLabel = "SEED", description = "--synthetic: the same seed, the same trace. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--write-trace", paramLabel = "FILE", description = "--synthetic: also write the trace, in the format --trace reads.")
    Path writeTrace;

    @Option(names = "--html", paramLabel = "FILE",
            description = "Also write a self-contained HTML report: a layer x expert heatmap of the tokens and each policy's tokens per worker.")
    Path html;

    @Option(names = "--format", defaultValue = "text", paramLabel = "FORMAT",
            description = "text (the policies side by side, per layer and per worker), or json (one line). Default: ${DEFAULT-VALUE}.")
    Output.Format format;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (writeTrace != null && source.synthetic == null) {
            throw new IllegalArgumentException("--write-trace writes a --synthetic trace: drop it, or use --synthetic instead of --trace");
        }
        if (redundant < 0) {
            throw new IllegalArgumentException("--redundant " + redundant + ": expected 0 (no replicas) or more");
        }
        ModelConfig config = modelConfig();
        SimulatedCluster cluster = new SimulatedCluster(workers, nodes);
        List<PlacementPolicy> chosen = policies.stream().map(this::policy).toList();
        LoadWindows loads = loads(config);
        List<ReplayWindow> windows = loads.replayWindows();
        PlacementReplay replay = new PlacementReplay(config, cluster.expertWorkers());
        List<PolicyOutcome> outcomes = IntStream.range(0, chosen.size())
                .mapToObj(i -> replay.replay(policies.get(i), chosen.get(i), windows)).toList();
        PolicyOutcome baseline = outcomes.stream().filter(o -> o.policy().equals(CONTIGUOUS)).findFirst()
                .orElseGet(() -> replay.replay(CONTIGUOUS, policy(CONTIGUOUS), windows));
        SimulationReport report = new SimulationReport(describeSource(), loads.steps(), loads.tokens(), loads.total(),
                IntStream.range(0, config.numHiddenLayers()).filter(config::isMoeLayer).toArray(), config.nRoutedExperts(), cluster,
                redundant, windowSteps, windows.size(), PlacementReplay.bytesPerRoutedExpert(config), outcomes, baseline);
        if (html != null) {
            SimulationHtml.write(report, html);
        }
        if (format == Output.Format.json) {
            spec.commandLine().getOut().println(new ObjectMapper().writeValueAsString(report.json()));
        } else {
            SimulationText.print(report, spec.commandLine().getOut());
        }
        return 0;
    }

    /** Only config.json matters: which layers route, over how many experts in how many groups, and their widths. */
    private ModelConfig modelConfig() {
        if (model == null) {
            return V2LiteShape.withLayers(V2LiteShape.LAYERS);
        }
        return DemoModel.isDemo(model) ? DemoModel.config() : ModelConfig.load(Path.of(model));
    }

    private PlacementPolicy policy(String name) {
        if (!PlacementPolicy.NAMES.contains(name)) {
            throw new IllegalArgumentException("--policy " + name + ": expected a comma-separated list of " + String.join(", ", PlacementPolicy.NAMES));
        }
        return PlacementPolicy.named(name, redundant);
    }

    private LoadWindows loads(ModelConfig config) throws IOException {
        LoadWindows loads = new LoadWindows(config, windowSteps);
        if (source.trace != null) {
            RoutingTraceFile.read(source.trace, loads);
        } else if (writeTrace == null) {
            synthetic().replay(config, loads);
        } else {
            try (RoutingTraceFile out = RoutingTraceFile.create(writeTrace)) {
                synthetic().replay(config, loads.andThen(out));
            }
        }
        return loads;
    }

    private SyntheticTrace synthetic() {
        return SyntheticTrace.parse(source.synthetic, steps, tokensPerStep, seed);
    }

    private String describeSource() {
        return source.trace != null ? "trace " + source.trace
                : "synthetic " + source.synthetic + " (seed " + seed + ", " + tokensPerStep + " tokens per step)";
    }
}
