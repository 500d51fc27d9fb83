package dev.expertmesh.launcher.bench;

import dev.expertmesh.cuda.device.Device;
import dev.expertmesh.cuda.runtime.DeviceBuffer;
import dev.expertmesh.cuda.runtime.Gpu;
import dev.expertmesh.cuda.runtime.GpuQueue;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.stream.IntStream;

/**
 * The rate a device's memory feeds a decode step's weights at, the ceiling to set their streaming
 * against, measured as the step reads them. On the CPU: every core reading its share of a buffer far
 * larger than the caches, as the products do (on the 2-core build machine a one-thread copy, read and
 * write counted, measured 11 to 13 GB/s where two threads read 14 to 19). On a GPU: a device-to-device copy, read and write
 * counted (as STREAM's copy does), which on HBM is within a few percent of reading alone.
 *
 * @param measure how it was measured, for the report
 */
public record MemoryBandwidth(double gbPerSecond, String measure) {
    private static final long HOST_BYTES = 512L << 20;
    private static final long GPU_BYTES = 1L << 30;
    private static final VectorSpecies<Long> L = LongVector.SPECIES_PREFERRED;
    /** The best of these many passes, after one that warms up: other tenants of the machine only ever slow a pass. */
    private static final int PASSES = 10;

    static MemoryBandwidth of(Device device) {
        return switch (device) {
            case Device.Cpu cpu -> host();
            case Device.Cuda cuda -> gpu(cuda.ordinal());
        };
    }

    private static MemoryBandwidth host() {
        int cores = Runtime.getRuntime().availableProcessors();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(HOST_BYTES, 64);
            buffer.fill((byte) 1);
            long best = Long.MAX_VALUE;
            long checksum = 0;
            for (int pass = 0; pass <= PASSES; pass++) {
                long start = System.nanoTime();
                checksum += IntStream.range(0, cores).parallel()
                        .mapToLong(share -> sum(buffer, HOST_BYTES * share / cores, HOST_BYTES * (share + 1) / cores)).sum();
                long nanos = System.nanoTime() - start;
                if (pass > 0) {
                    best = Math.min(best, nanos);
                }
            }
            if (checksum == 0) {
                throw new IllegalStateException("the bandwidth probe read nothing");
            }
            return new MemoryBandwidth((double) HOST_BYTES / best, "read, " + cores + " threads");
        }
    }

    /** The sum of the longs in [from, to), two accumulators so that loads, not adds, set the pace. */
    private static long sum(MemorySegment buffer, long from, long to) {
        long step = L.vectorByteSize();
        LongVector acc0 = LongVector.zero(L);
        LongVector acc1 = LongVector.zero(L);
        long at = from;
        for (; at + 2 * step <= to; at += 2 * step) {
            acc0 = acc0.add(LongVector.fromMemorySegment(L, buffer, at, ByteOrder.nativeOrder()));
            acc1 = acc1.add(LongVector.fromMemorySegment(L, buffer, at + step, ByteOrder.nativeOrder()));
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    private static MemoryBandwidth gpu(int ordinal) {
        try (Gpu gpu = Gpu.open(ordinal); GpuQueue queue = new GpuQueue(gpu)) {
            DeviceBuffer from = gpu.allocate(GPU_BYTES);
            DeviceBuffer to = gpu.allocate(GPU_BYTES);
            try {
                queue.copy(to.address(), from.address(), GPU_BYTES);
                queue.synchronize();
                long start = System.nanoTime();
                for (int i = 0; i < PASSES; i++) {
                    queue.copy(to.address(), from.address(), GPU_BYTES);
                }
                queue.synchronize();
                return new MemoryBandwidth(2.0 * GPU_BYTES * PASSES / (System.nanoTime() - start), "device copy, read + write");
            } finally {
                gpu.free(from);
                gpu.free(to);
            }
        }
    }
}
