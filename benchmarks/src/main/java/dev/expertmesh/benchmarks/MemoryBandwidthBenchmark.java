package dev.expertmesh.benchmarks;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

/**
 * The read bandwidth the kernels can hope for: Vector API loads over a buffer far larger than the
 * last-level cache, split across all cores the way CpuBackend splits a matrix product.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 2)
public class MemoryBandwidthBenchmark {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final long BUFFER_BYTES = 1L << 30;
    private static final int CHUNKS = 8 * Runtime.getRuntime().availableProcessors();

    private Arena arena;
    private MemorySegment buffer;

    @Setup(Level.Trial)
    public void allocate() {
        arena = Arena.ofShared();
        buffer = arena.allocate(BUFFER_BYTES, 4096);
        // Writing every page first keeps page faults out of the measured reads.
        RandomBf16.fill(buffer, new SplittableRandom(1));
    }

    @TearDown(Level.Trial)
    public void free() {
        arena.close();
    }

    @Benchmark
    public double readBuffer(BytesStreamed streamed) {
        // Whole unrolled steps per chunk, whatever the core count: the tail of the buffer goes unread and uncounted.
        long unrolledStep = 4L * F.vectorByteSize();
        long chunkBytes = BUFFER_BYTES / CHUNKS / unrolledStep * unrolledStep;
        double sum = IntStream.range(0, CHUNKS).parallel()
                .mapToDouble(chunk -> sum(buffer, chunk * chunkBytes, chunkBytes))
                .sum();
        streamed.add(chunkBytes * CHUNKS);
        return sum;
    }

    /** Sums the floats of [from, from + bytes); four accumulators so adds never wait on each other. */
    private static float sum(MemorySegment data, long from, long bytes) {
        MemorySegment chunk = data.asSlice(from, bytes);
        int step = F.vectorByteSize();
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        FloatVector acc2 = FloatVector.zero(F);
        FloatVector acc3 = FloatVector.zero(F);
        // An int-indexed loop (a chunk is well under 2 GiB) compiles to a tighter loop than a long one.
        for (int at = 0, end = Math.toIntExact(bytes); at < end; at += 4 * step) {
            acc0 = acc0.add(FloatVector.fromMemorySegment(F, chunk, at, ByteOrder.LITTLE_ENDIAN));
            acc1 = acc1.add(FloatVector.fromMemorySegment(F, chunk, at + step, ByteOrder.LITTLE_ENDIAN));
            acc2 = acc2.add(FloatVector.fromMemorySegment(F, chunk, at + 2 * step, ByteOrder.LITTLE_ENDIAN));
            acc3 = acc3.add(FloatVector.fromMemorySegment(F, chunk, at + 3 * step, ByteOrder.LITTLE_ENDIAN));
        }
        return acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(VectorOperators.ADD);
    }
}
