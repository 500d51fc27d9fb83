package dev.expertmesh.launcher.bench;

import dev.expertmesh.attention.CacheBlocks;
import dev.expertmesh.benchmark.DecodeBatch;
import dev.expertmesh.benchmark.DecodeStepTraffic;
import dev.expertmesh.benchmark.RoutedExperts;
import dev.expertmesh.checkpoint.TensorInfo;
import dev.expertmesh.cuda.device.Device;
import dev.expertmesh.cuda.stage.DeviceStages;
import dev.expertmesh.demo.RandomWeights;
import dev.expertmesh.demo.V2LiteShape;
import dev.expertmesh.engine.ComputeDevice;
import dev.expertmesh.engine.DeepseekModel;
import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.Quantization;
import dev.expertmesh.quantization.QuantizationPlan;
import dev.expertmesh.transport.TransportOptions;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Decode throughput of a model in DeepSeek-V2-Lite's exact shape with random bf16 weights: for each
 * format its experts are quantized to (unquantized first, the baseline of the others), in one
 * process and, when asked, on a local cluster too (one process is the cluster's baseline), some
 * decode steps at batch 1 to warm up the deployment (the JIT, and on a cluster gRPC, Netty and
 * Flight), then for each batch size that many sequences prefilled to the context, one step to warm
 * up, then the timed steps.
 */
public final class DecodeBench {
    private static final long SEED = 42;
    /**
     * A cluster's reply deadline: long enough for a prefill of the largest batch on a loaded
     * machine (a 128-token prefill of the dense layer took over the default 10 s on 2 busy cores);
     * the bench measures speed, not failover.
     */
    private static final Duration REPLY_TIMEOUT = Duration.ofMinutes(10);

    /**
     * What to measure: the model's depth, the tokens cached per sequence, the timed steps, the
     * warm-up steps, the batch sizes, whether on a local cluster too and with how many
     * micro-batches, and the formats (none is measured first whether named or not).
     */
    public record Settings(int layers, int context, int steps, int warmUp, List<Integer> batches, boolean cluster, int microBatches,
                           List<Quantization> formats) {
        public Settings {
            if (layers < 1 || layers > V2LiteShape.LAYERS) {
                throw new IllegalArgumentException("--layers " + layers + ": DeepSeek-V2-Lite has " + V2LiteShape.LAYERS + " decoder layers; give 1 to " + V2LiteShape.LAYERS);
            }
            if (context < 1 || steps < 1 || batches.isEmpty() || batches.stream().anyMatch(b -> b < 1)) {
                throw new IllegalArgumentException("--context, --steps and every --batch size must be at least 1");
            }
            if (warmUp < 0) {
                throw new IllegalArgumentException("--warmup " + warmUp + ": give 0 (no warm-up) or more steps");
            }
            if (microBatches < 1) {
                throw new IllegalArgumentException("--micro-batches " + microBatches + ": expected 1 (no overlap) or more");
            }
            if (microBatches != 1 && !cluster) {
                throw new IllegalArgumentException("--micro-batches " + microBatches + " splits a cluster's steps: add --cluster "
                        + "(one process runs each step as one)");
            }
            batches = List.copyOf(batches);
            formats = Stream.concat(Stream.of(Quantization.NONE), formats.stream()).distinct().toList();
        }

        /** Latent cache blocks the largest batch needs through its warm-up and timed steps, or the warm-up's sequence. */
        int cacheBlocks() {
            int largest = batches.stream().mapToInt(Integer::intValue).max().orElseThrow();
            return Math.max(blocks(context + 1 + steps) * largest, blocks(context + warmUp));
        }

        private static int blocks(int tokens) {
            return (tokens + CacheBlocks.DEFAULT_BLOCK_TOKENS - 1) / CacheBlocks.DEFAULT_BLOCK_TOKENS;
        }
    }

    /** The report, and the last timed step of each of its rows, for a timeline. */
    public record Result(DecodeReport report, List<TracedStep> steps) {
    }

    private DecodeBench() {
    }

    public static Result run(Device device, Settings settings) {
        MemoryBandwidth bandwidth = MemoryBandwidth.of(device);
        ModelConfig config = V2LiteShape.withLayers(settings.layers());
        List<DecodeReport.ExpertMemory> experts = new ArrayList<>();
        List<DecodeReport.WarmUp> warmUps = new ArrayList<>();
        List<Measured> measured = new ArrayList<>();
        try (ComputeDevice compute = DeviceStages.open(device)) {
            for (Quantization format : settings.formats()) {
                LoadedBytes loaded = new LoadedBytes(format);
                experts.add(new DecodeReport.ExpertMemory(format.label(), loaded.routedExpert(config),
                        (double) loaded.routedExpert(config) / new LoadedBytes(Quantization.NONE).routedExpert(config)));
                measured.addAll(measure(compute, config, format, loaded, settings, warmUps));
            }
        }
        DecodeReport report = new DecodeReport(device.toString(), settings.layers(), settings.context(), settings.steps(), bandwidth,
                experts, warmUps, againstOneProcess(againstNone(measured.stream().map(Measured::row).toList())));
        return new Result(report, measured.stream().map(Measured::step).toList());
    }

    /** A row and its last step. */
    private record Measured(DecodeRow row, TracedStep step) {
    }

    /**
     * Every batch size with the experts in one format, on each deployment loaded for it and warmed
     * up: one process, and a local cluster when asked, both loaded at once so that their timed steps
     * alternate and a load that comes and goes on the machine falls on both alike.
     */
    private static List<Measured> measure(ComputeDevice compute, ModelConfig config, Quantization format, LoadedBytes loaded,
                                          Settings settings, List<DecodeReport.WarmUp> warmUps) {
        QuantizationPlan plan = QuantizationPlan.of(format, false);
        List<DecodeRig> rigs = new ArrayList<>();
        try (RandomWeights weights = new RandomWeights(SEED)) {
            rigs.add(new InProcessRig(compute, weights, config, settings.cacheBlocks(), plan));
            if (settings.cluster()) {
                rigs.add(new ClusterRig(compute, weights, config, settings.cacheBlocks(),
                        TransportOptions.DEFAULT.withMicroBatches(settings.microBatches()).withReplyTimeout(REPLY_TIMEOUT), plan));
            }
            for (DecodeRig rig : rigs) {
                warmUps.add(warmUp(rig, format, rig instanceof ClusterRig ? settings.microBatches() : 1, settings));
            }
            DecodeStepTraffic traffic = new DecodeStepTraffic(distinct(weights.made()), loaded);
            List<Measured> rows = new ArrayList<>();
            for (int batch : settings.batches()) {
                rows.addAll(measure(rigs, traffic, config, format, batch, settings));
            }
            return rows.stream().sorted(Comparator.comparing((Measured m) -> !m.row().deployment().equals("one process"))).toList();
        } finally {
            rigs.reversed().forEach(DecodeRig::close);
        }
    }

    /** Decode steps of one sequence, so that what the timed steps run is compiled and connected. */
    private static DecodeReport.WarmUp warmUp(DecodeRig rig, Quantization format, int microBatches, Settings settings) {
        DeepseekModel model = rig.model();
        long start = System.nanoTime();
        if (settings.warmUp() == 0) {
            return new DecodeReport.WarmUp(rig.deployment(), format.label(), microBatches, 0, 0);
        }
        DecodeBatch sequence = new DecodeBatch(1, settings.context(), model.config().vocabSize());
        sequence.prefill(model);
        try {
            for (int step = 0; step < settings.warmUp(); step++) {
                sequence.step(model, LayerObserver.NONE);
            }
        } finally {
            sequence.release(model);
        }
        return new DecodeReport.WarmUp(rig.deployment(), format.label(), microBatches, settings.warmUp(), (System.nanoTime() - start) / 1e9);
    }

    /** Each row's tokens/s set against the unquantized row of its deployment and batch size, the first of them. */
    private static List<DecodeRow> againstNone(List<DecodeRow> rows) {
        Map<String, DecodeRow> none = new HashMap<>();
        for (DecodeRow r : rows) {
            none.putIfAbsent(r.deployment() + "@" + r.batch(), r);
        }
        return rows.stream().map(r -> r.againstNone(none.get(r.deployment() + "@" + r.batch()))).toList();
    }

    /** Each row's tokens/s set against one process's of its format and batch size, measured first. */
    private static List<DecodeRow> againstOneProcess(List<DecodeRow> rows) {
        Map<String, DecodeRow> oneProcess = new HashMap<>();
        for (DecodeRow r : rows) {
            oneProcess.putIfAbsent(r.format() + "@" + r.batch(), r);
        }
        return rows.stream().map(r -> r.againstOneProcess(oneProcess.get(r.format() + "@" + r.batch()))).toList();
    }

    /** One batch size on every rig, their timed steps taking turns. */
    private static List<Measured> measure(List<DecodeRig> rigs, DecodeStepTraffic traffic, ModelConfig config, Quantization format,
                                          int batch, Settings settings) {
        List<TimedSteps> timed = rigs.stream().map(r -> new TimedSteps(r, new DecodeBatch(batch, settings.context(), config.vocabSize()))).toList();
        try {
            for (TimedSteps t : timed) {
                t.sequences.prefill(t.rig.model());
                t.sequences.step(t.rig.model(), LayerObserver.NONE);
                t.rig.log().clear();
            }
            for (int step = 0; step < settings.steps(); step++) {
                timed.forEach(t -> t.step(config));
            }
            return timed.stream().map(t -> t.measured(traffic, format, batch, settings.steps())).toList();
        } finally {
            timed.forEach(t -> t.sequences.release(t.rig.model()));
        }
    }

    /** A rig's timed steps of one batch: their time, the experts each chose, when the last began and how it went. */
    private static final class TimedSteps {
        private final DecodeRig rig;
        private final DecodeBatch sequences;
        private final List<RoutedExperts> routed = new ArrayList<>();
        private long elapsedNanos;
        private long lastStart;
        private long lastEnd;
        private StepMarks last;

        TimedSteps(DecodeRig rig, DecodeBatch sequences) {
            this.rig = rig;
            this.sequences = sequences;
        }

        void step(ModelConfig config) {
            RoutedExperts chosen = new RoutedExperts(config.numHiddenLayers());
            last = new StepMarks(chosen, config.numHiddenLayers());
            lastStart = System.nanoTime();
            sequences.step(rig.model(), last);
            lastEnd = System.nanoTime();
            elapsedNanos += lastEnd - lastStart;
            routed.add(chosen);
        }

        Measured measured(DecodeStepTraffic traffic, Quantization format, int batch, int steps) {
            List<StageCall> calls = rig.log().calls();
            List<TimeSplit.CallShare> shares = rig.shares(calls);
            long weightBytes = routed.stream().mapToLong(r -> traffic.bytes(r, batch)).sum();
            DecodeRow row = DecodeRow.of(rig.deployment(), format.label(), batch, steps, elapsedNanos, TimeSplit.of(shares), weightBytes);
            TracedStep step = new TracedStep(rig.deployment() + ", " + format.label() + ", batch " + batch, lastStart, last.embeddedNanos(),
                    last.normedNanos(), lastEnd, shares.stream().filter(s -> s.call().startNanos() >= lastStart).toList(),
                    calls.stream().filter(c -> c.track().isWorker() && c.startNanos() >= lastStart).toList());
            return new Measured(row, step);
        }
    }

    /** Each tensor once: on a cluster, several roles ask for the shared experts and dense MLP, and each gets its copy. */
    private static List<TensorInfo> distinct(Collection<TensorInfo> made) {
        return List.copyOf(made.stream().collect(Collectors.toMap(TensorInfo::name, Function.identity(), (a, b) -> a,
                LinkedHashMap::new)).values());
    }
}
