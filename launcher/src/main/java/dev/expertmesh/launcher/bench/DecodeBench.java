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

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Decode throughput of a model in DeepSeek-V2-Lite's exact shape with random bf16 weights: for each
 * format its experts are quantized to (unquantized first, the baseline of the others) and each batch
 * size, that many sequences prefilled to the context, one step to warm up, then the timed steps.
 */
public final class DecodeBench {
    private static final long SEED = 42;

    /**
     * What to measure: the model's depth, the tokens cached per sequence, the timed steps, the batch
     * sizes, where, and the formats (none is measured first whether named or not).
     */
    public record Settings(int layers, int context, int steps, List<Integer> batches, boolean cluster, List<Quantization> formats) {
        public Settings {
            if (layers < 1 || layers > V2LiteShape.LAYERS) {
                throw new IllegalArgumentException("--layers " + layers + ": DeepSeek-V2-Lite has " + V2LiteShape.LAYERS + " decoder layers; give 1 to " + V2LiteShape.LAYERS);
            }
            if (context < 1 || steps < 1 || batches.isEmpty() || batches.stream().anyMatch(b -> b < 1)) {
                throw new IllegalArgumentException("--context, --steps and every --batch size must be at least 1");
            }
            batches = List.copyOf(batches);
            formats = Stream.concat(Stream.of(Quantization.NONE), formats.stream()).distinct().toList();
        }

        /** Latent cache blocks the largest batch needs through its warm-up and timed steps. */
        int cacheBlocks() {
            int tokens = context + 1 + steps;
            int perSequence = (tokens + CacheBlocks.DEFAULT_BLOCK_TOKENS - 1) / CacheBlocks.DEFAULT_BLOCK_TOKENS;
            return perSequence * batches.stream().mapToInt(Integer::intValue).max().orElseThrow();
        }
    }

    private DecodeBench() {
    }

    public static DecodeReport run(Device device, Settings settings) {
        double copyBandwidth = CopyBandwidth.of(device);
        ModelConfig config = V2LiteShape.withLayers(settings.layers());
        List<DecodeReport.ExpertMemory> experts = new ArrayList<>();
        List<DecodeRow> rows = new ArrayList<>();
        try (ComputeDevice compute = DeviceStages.open(device)) {
            for (Quantization format : settings.formats()) {
                LoadedBytes loaded = new LoadedBytes(format);
                experts.add(new DecodeReport.ExpertMemory(format.label(), loaded.routedExpert(config),
                        (double) loaded.routedExpert(config) / new LoadedBytes(Quantization.NONE).routedExpert(config)));
                rows.addAll(measure(compute, config, format, loaded, settings));
            }
        }
        return new DecodeReport(device.toString(), settings.cluster() ? "local cluster" : "one process", settings.layers(),
                settings.context(), settings.steps(), copyBandwidth, experts, againstNone(rows));
    }

    /** Every batch size with the experts in one format, on a model loaded for it. */
    private static List<DecodeRow> measure(ComputeDevice compute, ModelConfig config, Quantization format, LoadedBytes loaded,
                                           Settings settings) {
        QuantizationPlan plan = QuantizationPlan.of(format, false);
        try (RandomWeights weights = new RandomWeights(SEED);
             DecodeRig rig = settings.cluster()
                     ? new ClusterRig(compute, weights, config, settings.cacheBlocks(), TransportOptions.DEFAULT, plan)
                     : new InProcessRig(compute, weights, config, settings.cacheBlocks(), plan)) {
            DecodeStepTraffic traffic = new DecodeStepTraffic(distinct(weights.made()), loaded);
            List<DecodeRow> rows = new ArrayList<>();
            for (int batch : settings.batches()) {
                rows.add(measure(rig, traffic, config, format, batch, settings));
            }
            return rows;
        }
    }

    /** Each row's tokens/s set against the unquantized row of its batch size, the first of each batch. */
    private static List<DecodeRow> againstNone(List<DecodeRow> rows) {
        Map<Integer, DecodeRow> none = new HashMap<>();
        for (DecodeRow r : rows) {
            none.putIfAbsent(r.batch(), r);
        }
        return rows.stream().map(r -> r.against(none.get(r.batch()))).toList();
    }

    private static DecodeRow measure(DecodeRig rig, DecodeStepTraffic traffic, ModelConfig config, Quantization format, int batch,
                                     Settings settings) {
        DeepseekModel model = rig.model();
        DecodeBatch sequences = new DecodeBatch(batch, settings.context(), config.vocabSize());
        sequences.prefill(model);
        try {
            sequences.step(model, LayerObserver.NONE);
            rig.resetClocks();
            List<RoutedExperts> routed = new ArrayList<>(settings.steps());
            long start = System.nanoTime();
            for (int step = 0; step < settings.steps(); step++) {
                RoutedExperts chosen = new RoutedExperts(config.numHiddenLayers());
                sequences.step(model, chosen);
                routed.add(chosen);
            }
            long elapsed = System.nanoTime() - start;
            long weightBytes = routed.stream().mapToLong(r -> traffic.bytes(r, batch)).sum();
            return DecodeRow.of(format.label(), batch, settings.steps(), elapsed, rig.split(), weightBytes);
        } finally {
            sequences.release(model);
        }
    }

    /** Each tensor once: on a cluster, several roles ask for the shared experts and dense MLP, and each gets its copy. */
    private static List<TensorInfo> distinct(Collection<TensorInfo> made) {
        return List.copyOf(made.stream().collect(Collectors.toMap(TensorInfo::name, Function.identity(), (a, b) -> a,
                LinkedHashMap::new)).values());
    }
}
