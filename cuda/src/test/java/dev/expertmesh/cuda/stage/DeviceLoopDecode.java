package dev.expertmesh.cuda.stage;

import dev.expertmesh.benchmark.DecodeBatch;
import dev.expertmesh.demo.RandomWeights;
import dev.expertmesh.demo.V2LiteShape;
import dev.expertmesh.engine.DeepseekModel;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.Quantization;
import dev.expertmesh.quantization.QuantizationPlan;

/**
 * Greedy decode steps of the device-resident engine on DeepSeek-V2-Lite's shape with random weights
 * (what `bench decode --device cuda` measures of the host loop, whose observer needs the routes on
 * the host), for cuda/gpu-check.sh. Arguments: layers, steps, context, then batch sizes; set
 * EXPERTMESH_CUDA_GRAPHS=off for plain launches. Set against the bench's floor ms of the same batch.
 */
public final class DeviceLoopDecode {
    private DeviceLoopDecode() {
    }

    public static void main(String[] args) {
        int layers = Integer.parseInt(args[0]);
        int steps = Integer.parseInt(args[1]);
        int context = Integer.parseInt(args[2]);
        ModelConfig config = V2LiteShape.withLayers(layers);
        for (String format : new String[]{"none", "int8"}) {
            QuantizationPlan plan = QuantizationPlan.of(Quantization.parse(format), false);
            try (Engine engine = CudaEngines.create(config, new RandomWeights(1), 0, plan)) {
                DeepseekModel model = engine.model();
                for (int i = 3; i < args.length; i++) {
                    int batch = Integer.parseInt(args[i]);
                    DecodeBatch sequences = new DecodeBatch(batch, context, config.vocabSize());
                    sequences.prefill(model);
                    sequences.greedyStep(model);
                    sequences.greedyStep(model);
                    long start = System.nanoTime();
                    for (int step = 0; step < steps; step++) {
                        sequences.greedyStep(model);
                    }
                    double stepMillis = (System.nanoTime() - start) / 1e6 / steps;
                    System.out.printf("device-resident loop, experts %s, %d layers, batch %d: %.2f ms a step, %.1f tok/s%n", format,
                            layers, batch, stepMillis, batch * 1000 / stepMillis);
                    sequences.release(model);
                }
            }
        }
    }
}
