package dev.expertmesh.launcher.bench;

import dev.expertmesh.cuda.device.Device;
import dev.expertmesh.cuda.runtime.DeviceBuffer;
import dev.expertmesh.cuda.runtime.Gpu;
import dev.expertmesh.cuda.runtime.GpuQueue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A device's memory bandwidth as one large copy measures it, counting the bytes read and the bytes
 * written (as STREAM's copy does): the ceiling to set a decode step's weight streaming against.
 */
final class CopyBandwidth {
    private static final long HOST_BYTES = 256L << 20;
    private static final long GPU_BYTES = 1L << 30;
    /** The best of these many copies, after one that warms up. */
    private static final int COPIES = 5;

    private CopyBandwidth() {
    }

    /** GB/s (10^9 bytes a second) of a copy within the device's memory. */
    static double of(Device device) {
        return switch (device) {
            case Device.Cpu cpu -> host();
            case Device.Cuda cuda -> gpu(cuda.ordinal());
        };
    }

    private static double host() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment from = arena.allocate(HOST_BYTES, 64);
            MemorySegment to = arena.allocate(HOST_BYTES, 64);
            from.fill((byte) 1);
            long best = Long.MAX_VALUE;
            for (int i = 0; i <= COPIES; i++) {
                long start = System.nanoTime();
                MemorySegment.copy(from, 0, to, 0, HOST_BYTES);
                long nanos = System.nanoTime() - start;
                if (i > 0) {
                    best = Math.min(best, nanos);
                }
            }
            return 2.0 * HOST_BYTES / best;
        }
    }

    private static double gpu(int ordinal) {
        try (Gpu gpu = Gpu.open(ordinal); GpuQueue queue = new GpuQueue(gpu)) {
            DeviceBuffer from = gpu.allocate(GPU_BYTES);
            DeviceBuffer to = gpu.allocate(GPU_BYTES);
            try {
                queue.copy(to.address(), from.address(), GPU_BYTES);
                queue.synchronize();
                long start = System.nanoTime();
                for (int i = 0; i < COPIES; i++) {
                    queue.copy(to.address(), from.address(), GPU_BYTES);
                }
                queue.synchronize();
                return 2.0 * GPU_BYTES * COPIES / (System.nanoTime() - start);
            } finally {
                gpu.free(from);
                gpu.free(to);
            }
        }
    }
}
