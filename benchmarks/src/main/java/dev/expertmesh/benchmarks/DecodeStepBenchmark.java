package dev.expertmesh.benchmarks;

import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.benchmark.DecodeBatch;
import dev.expertmesh.benchmark.DecodeStepTraffic;
import dev.expertmesh.checkpoint.TensorInfo;
import dev.expertmesh.benchmark.RoutedExperts;
import dev.expertmesh.demo.RandomWeights;
import dev.expertmesh.demo.V2LiteShape;
import dev.expertmesh.engine.DeepseekModel;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.QuantizationPlan;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * One decode step of a DeepSeek-V2-Lite-width model (one dense and two MoE layers, random BF16
 * weights) for {@code batch} sequences, each after a short prompt. The step's weight traffic is
 * counted from the experts it actually routed to.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 2)
public class DecodeStepBenchmark {
    private static final int LAYERS = 3;
    private static final int PROMPT_LENGTH = 8;

    @Param({"1", "8"})
    public int batch;

    private Engine engine;
    private DeepseekModel model;
    private DecodeStepTraffic traffic;
    private DecodeBatch sequences;

    @Setup(Level.Trial)
    public void load() {
        RandomWeights weights = new RandomWeights(42);
        ModelConfig config = V2LiteShape.withLayers(LAYERS);
        engine = Engine.create(config, weights, new CpuBackend(), "random weights in DeepSeek-V2-Lite's shapes", QuantizationPlan.NONE);
        model = engine.model();
        traffic = new DecodeStepTraffic(weights.made(), TensorInfo::byteSize);
        sequences = new DecodeBatch(batch, PROMPT_LENGTH, config.vocabSize());
    }

    @Setup(Level.Iteration)
    public void prefill() {
        sequences.prefill(model);
    }

    @TearDown(Level.Iteration)
    public void release() {
        sequences.release(model);
    }

    @TearDown(Level.Trial)
    public void close() {
        engine.close();
    }

    @Benchmark
    public float[] decodeStep(BytesStreamed streamed) {
        RoutedExperts routed = new RoutedExperts(LAYERS);
        float[] logits = sequences.step(model, routed);
        streamed.add(traffic.bytes(routed, batch));
        return logits;
    }
}
