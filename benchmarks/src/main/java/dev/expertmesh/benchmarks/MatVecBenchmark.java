package dev.expertmesh.benchmarks;

import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.DType;
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
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/** CpuBackend's BF16 matrix-vector product (batch 1, a decode step's case) on DeepSeek-V2-Lite's shapes. */
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
        long bytes = (long) rows * cols * DType.BF16.byteSize();
        SplittableRandom random = new SplittableRandom(7);
        arena = Arena.ofShared();
        copies = new Weight[(int) Math.max(1, (POOL_BYTES + bytes - 1) / bytes)];
        for (int i = 0; i < copies.length; i++) {
            MemorySegment data = arena.allocate(bytes, 64);
            RandomBf16.fill(data, random);
            copies[i] = new Weight(shape + "#" + i, data, DType.BF16, rows, cols);
        }
        x = new float[cols];
        for (int c = 0; c < cols; c++) {
            x[c] = (float) random.nextDouble(-1, 1);
        }
        y = new float[rows];
    }

    @TearDown(Level.Trial)
    public void free() {
        arena.close();
    }

    @Benchmark
    public float[] matVec(BytesStreamed streamed) {
        Weight w = copies[next];
        next = (next + 1) % copies.length;
        backend.matmul(w, x, 0, 1, y, 0);
        streamed.add(w.data().byteSize());
        return y;
    }
}
