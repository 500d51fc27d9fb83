package dev.expertmesh.benchmarks;

import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.benchmark.DecodeBatch;
import dev.expertmesh.demo.RandomWeights;
import dev.expertmesh.demo.V2LiteShape;
import dev.expertmesh.engine.DeepseekModel;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.LayerObserver;
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
 * One decode step of {@code batch} sequences on a DeepSeek-V2-Lite-width model (one dense and two
 * MoE layers, random BF16 weights), either in this process ({@code single}) or on the
 * {@link LocalCluster} ({@code local}), so that the table can set the cluster's tokens/s against
 * the single process's on the same weights. A step takes up to seconds, so few iterations keep the
 * six forks (each makes its own weights) to some minutes; the cluster's data plane needs the longer
 * warm-up.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 3, time = 3)
public class ClusterDecodeBenchmark {
    static final String SINGLE = "single";
    static final String LOCAL = "local";
    private static final int LAYERS = 3;
    private static final int PROMPT_LENGTH = 4;

    @Param({SINGLE, LOCAL})
    public String deployment;

    @Param({"1", "16", "64"})
    public int batch;

    /**
     * Micro-batches the coordinator splits a step into, so that one's attention overlaps another's
     * experts (ping-pong); 1 turns it off. The single process always runs one.
     */
    @Param({"1", "2"})
    public int microBatches;

    private AutoCloseable deployed;
    private DeepseekModel model;
    private DecodeBatch sequences;

    @Setup(Level.Trial)
    public void deploy() {
        RandomWeights weights = new RandomWeights(42);
        ModelConfig config = V2LiteShape.withLayers(LAYERS);
        switch (deployment) {
            case SINGLE -> {
                Engine engine = Engine.create(config, weights, new CpuBackend(), "random weights in DeepSeek-V2-Lite's shapes", QuantizationPlan.NONE);
                deployed = engine;
                model = engine.model();
            }
            case LOCAL -> {
                LocalCluster cluster = new LocalCluster(weights, config, microBatches);
                deployed = () -> {
                    cluster.close();
                    weights.close();
                };
                model = cluster.model();
            }
            default -> throw new IllegalArgumentException("deployment is " + SINGLE + " or " + LOCAL + ", not " + deployment);
        }
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
    public void close() throws Exception {
        deployed.close();
    }

    @Benchmark
    public float[] decodeStep() {
        return sequences.step(model, LayerObserver.NONE);
    }
}
