package dev.expertmesh.benchmarks;

import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.DType;
import dev.expertmesh.quantization.Quantization;
import dev.expertmesh.tensor.Weight;
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

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * CpuBackend's matrix-vector product (batch 1, 2, 8 and 32, a decode step's cases) on DeepSeek-V2-Lite's
 * shapes, with BF16 weights or those each {@code --quantize} format makes of them.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 2)
public class MatVecBenchmark {
    /**
     * Enough copies of the matrix are cycled through that each call reads it from DRAM, as a
     * decode step does, rather than from the 32 MiB L3 where the previous call left it.
     */
    private static final long POOL_BYTES = 256L << 20;

    /** rows x cols: o_proj, a routed expert's gate_proj, the dense MLP's gate_proj, lm_head. */
    @Param({"2048x2048", "1408x2048", "10944x2048", "102400x2048"})
    public String shape;

    /** As {@code --quantize} names it: none (BF16), int8, int4-g64, int4-g128 or fp8. */
    @Param({"none", "int8", "int4-g64", "int4-g128", "fp8"})
    public String quantize;

    /** Tokens multiplied by each weight matrix at once: 2 is a routed expert's common case at batch 8. */
    @Param({"1", "2", "8", "32"})
    public int batch;

    private final CpuBackend backend = new CpuBackend();
    private Arena arena;
    private Weight[] copies;
    private float[] x;
    private float[] y;
    private int next;

    @Setup(Level.Trial)
    public void allocate() {
        String[] dims = shape.split("x");
        int rows = Integer.parseInt(dims[0]);
        int cols = Integer.parseInt(dims[1]);
        Quantization quantization = Quantization.parse(quantize);
        SplittableRandom random = new SplittableRandom(7);
        arena = Arena.ofShared();
        List<Weight> pool = new ArrayList<>();
        for (long stored = 0; stored < POOL_BYTES; ) {
            Weight copy = quantized(shape + "#" + pool.size(), rows, cols, quantization, random);
            pool.add(copy);
            stored += copy.data().byteSize();
        }
        copies = pool.toArray(Weight[]::new);
        x = new float[batch * cols];
        for (int c = 0; c < x.length; c++) {
            x[c] = (float) random.nextDouble(-1, 1);
        }
        y = new float[batch * rows];
    }

    /** A random BF16 matrix as {@code quantization} stores it; a quantized copy keeps no BF16 one. */
    private Weight quantized(String name, int rows, int cols, Quantization quantization, SplittableRandom random) {
        long bytes = (long) rows * cols * DType.BF16.byteSize();
        if (quantization == Quantization.NONE) {
            MemorySegment data = arena.allocate(bytes, 64);
            RandomBf16.fill(data, random);
            return new Weight(name, data, DType.BF16, rows, cols);
        }
        try (Arena source = Arena.ofConfined()) {
            MemorySegment data = source.allocate(bytes, 64);
            RandomBf16.fill(data, random);
            return quantization.apply(new Weight(name, data, DType.BF16, rows, cols), arena);
        }
    }

    @TearDown(Level.Trial)
    public void free() {
        arena.close();
    }

    @Benchmark
    public float[] matVec(BytesStreamed streamed) {
        Weight w = copies[next];
        next = (next + 1) % copies.length;
        backend.matmul(w, x, 0, batch, y, 0);
        streamed.add(w.data().byteSize() + w.format().scaleBytes());
        return y;
    }
}
