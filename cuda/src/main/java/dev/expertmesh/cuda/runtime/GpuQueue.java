package dev.expertmesh.cuda.runtime;

import dev.expertmesh.cuda.binding.CudaDriver;
import dev.expertmesh.cuda.binding.Cublas;
import dev.expertmesh.tensor.WeightFormat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One stream of work on a {@link Gpu}: kernel launches, cuBLAS GEMMs and copies in order, and
 * named scratch buffers that grow to the largest size asked and are reused from call to call.
 * Not for concurrent use: a stage holds one and serializes its calls.
 */
public final class GpuQueue implements AutoCloseable {
    public static final int BF16_BYTES = 2;
    /** Output rows a block of quantized_linear.cu computes: one a warp (WARPS_PER_BLOCK there). */
    private static final int QUANTIZED_ROWS_PER_BLOCK = 4;
    private final Gpu gpu;
    private final CudaDriver driver;
    private final MemorySegment stream;
    private final Cublas cublas;
    private final Map<String, DeviceBuffer> scratch = new HashMap<>();
    /** Scratch buffers allocated so far: a captured graph holds their addresses, valid while this is unchanged. */
    private long scratchAllocations;

    public GpuQueue(Gpu gpu) {
        this.gpu = gpu;
        this.driver = gpu.driver();
        gpu.makeCurrent();
        this.stream = driver.createStream();
        this.cublas = Cublas.create(stream);
    }

    public Gpu gpu() {
        return gpu;
    }

    /** Makes the GPU's context current on the calling thread: the first thing every stage call does. */
    public void begin() {
        gpu.makeCurrent();
    }

    /** The scratch buffer named {@code slot} with room for at least {@code bytes}. */
    public DeviceBuffer scratch(String slot, long bytes) {
        DeviceBuffer buffer = scratch.get(slot);
        if (buffer == null || buffer.bytes() < bytes) {
            if (buffer != null) {
                driver.synchronize(stream);
                gpu.free(buffer);
            }
            buffer = gpu.allocate(Math.max(bytes, buffer == null ? 0 : buffer.bytes() * 3 / 2));
            scratch.put(slot, buffer);
            scratchAllocations++;
        }
        return buffer;
    }

    public DeviceBuffer floats(String slot, long count) {
        return scratch(slot, count * Float.BYTES);
    }

    public DeviceBuffer bf16s(String slot, long count) {
        return scratch(slot, count * BF16_BYTES);
    }

    /** {@code values} in the scratch buffer {@code slot}. */
    public DeviceBuffer upload(String slot, float[] values) {
        DeviceBuffer buffer = floats(slot, values.length);
        try (Arena arena = Arena.ofConfined()) {
            driver.copyToDevice(buffer.address(), arena.allocateFrom(JAVA_FLOAT, values), (long) values.length * Float.BYTES, stream);
        }
        return buffer;
    }

    public DeviceBuffer upload(String slot, int[] values) {
        DeviceBuffer buffer = scratch(slot, (long) values.length * Integer.BYTES);
        try (Arena arena = Arena.ofConfined()) {
            driver.copyToDevice(buffer.address(), arena.allocateFrom(JAVA_INT, values), (long) values.length * Integer.BYTES, stream);
        }
        return buffer;
    }

    /** {@code count} floats from the device; waits for every earlier piece of work. */
    public float[] downloadFloats(long address, int count) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(JAVA_FLOAT, count);
            driver.copyToHost(host, address, (long) count * Float.BYTES, stream);
            driver.synchronize(stream);
            return host.toArray(JAVA_FLOAT);
        }
    }

    public int[] downloadInts(long address, int count) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(JAVA_INT, count);
            driver.copyToHost(host, address, (long) count * Integer.BYTES, stream);
            driver.synchronize(stream);
            return host.toArray(JAVA_INT);
        }
    }

    public void zero(long address, long bytes) {
        driver.fill(address, (byte) 0, bytes, stream);
    }

    public void copy(long destination, long source, long bytes) {
        driver.copyOnDevice(destination, source, bytes, stream);
    }

    /** See {@link CudaDriver#copyRows}. */
    public void copyRows(long destination, long destinationPitch, long source, long sourcePitch, long widthBytes, long height) {
        driver.copyRows(destination, destinationPitch, source, sourcePitch, widthBytes, height, stream);
    }

    /**
     * Launches {@code kernel} on a grid of gridX × gridY blocks of {@code block} threads. Arguments:
     * a {@link DeviceBuffer} or Long is passed as 8 bytes (a pointer or a long long), an Integer as
     * int, a Float as float.
     */
    public void launch(String kernel, int gridX, int gridY, int block, Object... args) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment parameters = arena.allocate(ADDRESS, args.length);
            for (int i = 0; i < args.length; i++) {
                parameters.setAtIndex(ADDRESS, i, argument(arena, args[i]));
            }
            driver.launch(gpu.function(kernel), gridX, gridY, 1, block, 1, 1, 0, stream, parameters);
        }
    }

    private static MemorySegment argument(Arena arena, Object arg) {
        return switch (arg) {
            case DeviceBuffer buffer -> arena.allocateFrom(JAVA_LONG, buffer.address());
            case Long value -> arena.allocateFrom(JAVA_LONG, value);
            case Integer value -> arena.allocateFrom(JAVA_INT, value);
            case Float value -> arena.allocateFrom(JAVA_FLOAT, value);
            default -> throw new IllegalArgumentException("a kernel argument is a device buffer, long, int or float, not " + arg);
        };
    }

    /** out[rows, w.rows] (fp32) = x[rows, w.cols] (bf16, rows {@code xStride} apart)·Wᵀ, all row-major. */
    public void linear(DeviceWeight w, long x, int xStride, int rows, long out) {
        linear(w, x, xStride, rows, out, w.rows());
    }

    /**
     * As {@link #linear(DeviceWeight, long, int, int, long)} with output rows {@code outStride} floats
     * apart: bf16 weights through cuBLAS, quantized ones through quantized_linear.cu's kernel for
     * their format, which reads the packed bytes.
     */
    public void linear(DeviceWeight w, long x, int xStride, int rows, long out, int outStride) {
        int grid = (w.rows() + QUANTIZED_ROWS_PER_BLOCK - 1) / QUANTIZED_ROWS_PER_BLOCK;
        int block = 32 * QUANTIZED_ROWS_PER_BLOCK;
        switch (w.format()) {
            case WeightFormat.Bf16 b -> Gemms.timesTranspose(cublas, 1, rows, Gemms.Rows.bf16(x, xStride, 0), Gemms.Matrices.of(w),
                    Gemms.Rows.f32(out, outStride, 0));
            case WeightFormat.F32 f -> throw new IllegalStateException(w + ": F32 weights go to the device as bf16");
            case WeightFormat.Int8PerChannel q -> launch("linear_int8", grid, 1, block, w.data(), w.scales(), x, xStride, out,
                    outStride, rows, w.rows(), w.cols());
            case WeightFormat.Int4Grouped q -> launch("linear_int4", grid, 1, block, w.data(), w.scales(), q.groupSize(), x,
                    xStride, out, outStride, rows, w.rows(), w.cols());
            case WeightFormat.Fp8Block q -> launch("linear_fp8", grid, 1, block, w.data(), w.scales(), q.blockRows(),
                    q.blockCols(), q.rowOffset(), x, xStride, out, outStride, rows, w.rows(), w.cols());
        }
    }

    public Cublas cublas() {
        return cublas;
    }

    /** fp32 → bf16 over n values (round to nearest even). */
    public void toBf16(long from, long to, long n) {
        launch("f32_to_bf16", blocksOf(n), 1, 256, from, to, n);
    }

    public void toF32(long from, long to, long n) {
        launch("bf16_to_f32", blocksOf(n), 1, 256, from, to, n);
    }

    public void addInto(long y, long x, long n) {
        launch("add_f32", blocksOf(n), 1, 256, y, x, n);
    }

    private static int blocksOf(long n) {
        return Math.toIntExact((n + 255) / 256);
    }

    public void synchronize() {
        driver.synchronize(stream);
    }

    /** How many scratch buffers have been allocated: a graph captured at one count is stale at another. */
    public long scratchAllocations() {
        return scratchAllocations;
    }

    /**
     * Captures what {@code work} enqueues (launches, cuBLAS GEMMs, device copies; nothing to or from
     * the host, nothing waited on) into a graph, which it returns instantiated without running it.
     */
    public MemorySegment capture(Runnable work) {
        driver.beginCapture(stream);
        try {
            work.run();
        } catch (RuntimeException | Error e) {
            driver.destroyGraph(driver.endCapture(stream));
            throw e;
        }
        MemorySegment graph = driver.endCapture(stream);
        try {
            return driver.instantiate(graph);
        } finally {
            driver.destroyGraph(graph);
        }
    }

    public void launchGraph(MemorySegment executable) {
        driver.launchGraph(executable, stream);
    }

    public void destroyGraph(MemorySegment executable) {
        driver.destroyGraphExecutable(executable);
    }

    @Override
    public void close() {
        begin();
        synchronize();
        scratch.values().forEach(gpu::free);
        scratch.clear();
        cublas.destroy();
        driver.destroyStream(stream);
    }
}
