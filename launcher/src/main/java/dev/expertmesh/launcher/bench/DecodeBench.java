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
import dev.expertmesh.transport.TransportOptions;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Decode throughput of a model in DeepSeek-V2-Lite's exact shape with random bf16 weights: for each
 * batch size, that many sequences prefilled to the context, one step to warm up, then the timed steps.
 */
public final class DecodeBench {
    private static final long SEED = 42;

    /** What to measure: the model's depth, the tokens cached per sequence, the timed steps, the batch sizes. */
    public record Settings(int layers, int context, int steps, List<Integer> batches, boolean cluster) {
        public Settings {
            if (layers < 1 || layers > V2LiteShape.LAYERS) {
                throw new IllegalArgumentException("--layers " + layers + ": DeepSeek-V2-Lite has " + V2LiteShape.LAYERS + " decoder layers; give 1 to " + V2LiteShape.LAYERS);
            }
            if (context < 1 || steps < 1 || batches.isEmpty() || batches.stream().anyMatch(b -> b < 1)) {
                throw new IllegalArgumentException("--context, --steps and every --batch size must be at least 1");
            }
            batches = List.copyOf(batches);
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
        try (ComputeDevice compute = DeviceStages.open(device);
             RandomWeights weights = new RandomWeights(SEED);
             DecodeRig rig = settings.cluster()
                     ? new ClusterRig(compute, weights, config, settings.cacheBlocks(), TransportOptions.DEFAULT)
                     : new InProcessRig(compute, weights, config, settings.cacheBlocks())) {
            DecodeStepTraffic traffic = new DecodeStepTraffic(distinct(weights.made()));
            List<DecodeRow> rows = new ArrayList<>();
            for (int batch : settings.batches()) {
                rows.add(measure(rig, traffic, config, batch, settings));
            }
            return new DecodeReport(device.toString(), settings.cluster() ? "local cluster" : "one process", settings.layers(),
                    settings.context(), settings.steps(), copyBandwidth, rows);
        }
    }

    private static DecodeRow measure(DecodeRig rig, DecodeStepTraffic traffic, ModelConfig config, int batch, Settings settings) {
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
            return DecodeRow.of(batch, settings.steps(), elapsed, rig.split(), weightBytes);
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
