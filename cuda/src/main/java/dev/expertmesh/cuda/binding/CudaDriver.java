package dev.expertmesh.cuda.binding;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The CUDA driver API (libcuda) through FFM. Device pointers are longs; contexts, streams, events,
 * modules, functions and graphs are opaque addresses. Every call's result is checked: a failure
 * throws a {@link CudaException} naming the call and the driver's error (cuGetErrorName).
 */
public final class CudaDriver {
    /** Where the driver is: the loader's name first, then where NVIDIA's containers put it. */
    static final List<String> CANDIDATES = List.of("libcuda.so.1", "libcuda.so", "/usr/local/nvidia/lib64/libcuda.so.1",
            "/usr/lib/x86_64-linux-gnu/libcuda.so.1", "/usr/lib64/libcuda.so.1");
    public static final int ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    public static final int ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    public static final int ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    private static final int STREAM_NON_BLOCKING = 1;
    private static final int CAPTURE_MODE_THREAD_LOCAL = 1;
    private static final int MEMORY_TYPE_DEVICE = 2;
    private static final FunctionDescriptor STATUS_OF_INT = FunctionDescriptor.of(JAVA_INT, JAVA_INT);
    private static final FunctionDescriptor STATUS_OF_ADDRESS = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final FunctionDescriptor STATUS_OF_LONG = FunctionDescriptor.of(JAVA_INT, JAVA_LONG);
    private static final FunctionDescriptor STATUS_OF_ADDRESS_INT = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT);
    private static final FunctionDescriptor STATUS_OF_2_ADDRESSES = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    /** CUDA_MEMCPY2D: source, then destination (x in bytes, y, memory type, host, device, array, pitch), then width and height. */
    private static final StructLayout MEMCPY_2D = MemoryLayout.structLayout(
            JAVA_LONG, JAVA_LONG, JAVA_INT, MemoryLayout.paddingLayout(4), ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG,
            JAVA_LONG, JAVA_LONG, JAVA_INT, MemoryLayout.paddingLayout(4), ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG,
            JAVA_LONG, JAVA_LONG);

    private final NativeLibrary lib;

    CudaDriver(NativeLibrary lib) {
        this.lib = lib;
    }

    /** Opens libcuda and initializes the driver. */
    public static CudaDriver load() {
        return load(CANDIDATES);
    }

    static CudaDriver load(List<String> candidates) {
        CudaDriver driver = new CudaDriver(NativeLibrary.open("the NVIDIA driver library libcuda.so.1",
                "install the NVIDIA driver (or put its directory on LD_LIBRARY_PATH)", candidates));
        driver.check("cuInit", driver.lib.status("cuInit", STATUS_OF_INT, 0));
        return driver;
    }

    /** Throws the call's error unless {@code result} is CUDA_SUCCESS. */
    void check(String call, int result) {
        if (result == 0) {
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment name = arena.allocate(ADDRESS);
            MemorySegment description = arena.allocate(ADDRESS);
            String errorName = lib.status("cuGetErrorName", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), result, name) == 0
                    ? NativeLibrary.string(name.get(ADDRESS, 0)) : null;
            String errorText = lib.status("cuGetErrorString", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), result, description) == 0
                    ? NativeLibrary.string(description.get(ADDRESS, 0)) : null;
            throw CudaException.failed(call, result, errorName != null ? errorName : "CUDA error " + result, errorText);
        }
    }

    private int intOut(String call, FunctionDescriptor descriptor, Object... argsAfterOut) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            check(call, lib.status(call, descriptor, prepend(out, argsAfterOut)));
            return out.get(JAVA_INT, 0);
        }
    }

    private long longOut(String call, FunctionDescriptor descriptor, Object... argsAfterOut) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG);
            check(call, lib.status(call, descriptor, prepend(out, argsAfterOut)));
            return out.get(JAVA_LONG, 0);
        }
    }

    private MemorySegment addressOut(String call, FunctionDescriptor descriptor, Object... argsAfterOut) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check(call, lib.status(call, descriptor, prepend(out, argsAfterOut)));
            return out.get(ADDRESS, 0);
        }
    }

    private static Object[] prepend(Object first, Object[] rest) {
        Object[] all = new Object[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }

    public int driverVersion() {
        return intOut("cuDriverGetVersion", STATUS_OF_ADDRESS);
    }

    public int deviceCount() {
        return intOut("cuDeviceGetCount", STATUS_OF_ADDRESS);
    }

    /** The CUdevice handle of the ordinal-th device. */
    public int device(int ordinal) {
        return intOut("cuDeviceGet", STATUS_OF_ADDRESS_INT, ordinal);
    }

    public int attribute(int device, int attribute) {
        return intOut("cuDeviceGetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), attribute, device);
    }

    public String name(int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment name = arena.allocate(256);
            check("cuDeviceGetName", lib.status("cuDeviceGetName", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
                    name, 256, device));
            return name.getString(0);
        }
    }

    public long totalMemory(int device) {
        return longOut("cuDeviceTotalMem_v2", STATUS_OF_ADDRESS_INT, device);
    }

    public MemorySegment retainPrimaryContext(int device) {
        return addressOut("cuDevicePrimaryCtxRetain", STATUS_OF_ADDRESS_INT, device);
    }

    public void releasePrimaryContext(int device) {
        check("cuDevicePrimaryCtxRelease", lib.status("cuDevicePrimaryCtxRelease_v2", STATUS_OF_INT, device));
    }

    /** Makes the context current on the calling thread: every thread that issues work must do this first. */
    public void setCurrent(MemorySegment context) {
        check("cuCtxSetCurrent", lib.status("cuCtxSetCurrent", STATUS_OF_ADDRESS, context));
    }

    public MemorySegment createStream() {
        return addressOut("cuStreamCreate", STATUS_OF_ADDRESS_INT, STREAM_NON_BLOCKING);
    }

    public void synchronize(MemorySegment stream) {
        check("cuStreamSynchronize", lib.status("cuStreamSynchronize", STATUS_OF_ADDRESS, stream));
    }

    public void destroyStream(MemorySegment stream) {
        check("cuStreamDestroy", lib.status("cuStreamDestroy_v2", STATUS_OF_ADDRESS, stream));
    }

    public MemorySegment createEvent() {
        return addressOut("cuEventCreate", STATUS_OF_ADDRESS_INT, 0);
    }

    public void record(MemorySegment event, MemorySegment stream) {
        check("cuEventRecord", lib.status("cuEventRecord", STATUS_OF_2_ADDRESSES, event, stream));
    }

    public void synchronizeEvent(MemorySegment event) {
        check("cuEventSynchronize", lib.status("cuEventSynchronize", STATUS_OF_ADDRESS, event));
    }

    /** Milliseconds between two recorded events. */
    public float elapsedMillis(MemorySegment start, MemorySegment end) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_FLOAT);
            check("cuEventElapsedTime", lib.status("cuEventElapsedTime",
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS), out, start, end));
            return out.get(JAVA_FLOAT, 0);
        }
    }

    public void destroyEvent(MemorySegment event) {
        check("cuEventDestroy", lib.status("cuEventDestroy_v2", STATUS_OF_ADDRESS, event));
    }

    /** Device memory of {@code bytes}: its device address. */
    public long allocate(long bytes) {
        return longOut("cuMemAlloc_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), bytes);
    }

    public void free(long devicePointer) {
        check("cuMemFree", lib.status("cuMemFree_v2", STATUS_OF_LONG, devicePointer));
    }

    /** Page-locked host memory, which async copies read and write without staging. */
    public MemorySegment allocatePinned(long bytes) {
        return addressOut("cuMemAllocHost_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), bytes).reinterpret(bytes);
    }

    public void freePinned(MemorySegment host) {
        check("cuMemFreeHost", lib.status("cuMemFreeHost", STATUS_OF_ADDRESS, host));
    }

    public void copyToDevice(long destination, MemorySegment source, long bytes, MemorySegment stream) {
        check("cuMemcpyHtoDAsync", lib.status("cuMemcpyHtoDAsync_v2",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS), destination, source, bytes, stream));
    }

    public void copyToHost(MemorySegment destination, long source, long bytes, MemorySegment stream) {
        check("cuMemcpyDtoHAsync", lib.status("cuMemcpyDtoHAsync_v2",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS), destination, source, bytes, stream));
    }

    public void copyOnDevice(long destination, long source, long bytes, MemorySegment stream) {
        check("cuMemcpyDtoDAsync", lib.status("cuMemcpyDtoDAsync_v2",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS), destination, source, bytes, stream));
    }

    /**
     * Copies {@code height} rows of {@code widthBytes} within device memory, rows {@code sourcePitch}
     * and {@code destinationPitch} bytes apart: a strided slice of a matrix in one call.
     */
    public void copyRows(long destination, long destinationPitch, long source, long sourcePitch, long widthBytes, long height,
                         MemorySegment stream) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment copy = arena.allocate(MEMCPY_2D);
            copy.set(JAVA_INT, 16, MEMORY_TYPE_DEVICE);
            copy.set(JAVA_LONG, 32, source);
            copy.set(JAVA_LONG, 48, sourcePitch);
            copy.set(JAVA_INT, 72, MEMORY_TYPE_DEVICE);
            copy.set(JAVA_LONG, 88, destination);
            copy.set(JAVA_LONG, 104, destinationPitch);
            copy.set(JAVA_LONG, 112, widthBytes);
            copy.set(JAVA_LONG, 120, height);
            check("cuMemcpy2DAsync", lib.status("cuMemcpy2DAsync_v2", STATUS_OF_2_ADDRESSES, copy, stream));
        }
    }

    public void fill(long destination, byte value, long bytes, MemorySegment stream) {
        check("cuMemsetD8Async", lib.status("cuMemsetD8Async",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_BYTE, JAVA_LONG, ADDRESS), destination, value, bytes, stream));
    }

    /** Loads a CUBIN or PTX image into the current context. */
    public MemorySegment loadModule(byte[] image) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(image.length + 1L);
            MemorySegment.copy(image, 0, data, JAVA_BYTE, 0, image.length);
            return addressOut("cuModuleLoadData", STATUS_OF_2_ADDRESSES, data);
        }
    }

    public MemorySegment function(MemorySegment module, String name) {
        try (Arena arena = Arena.ofConfined()) {
            return addressOut("cuModuleGetFunction", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS),
                    module, arena.allocateFrom(name));
        }
    }

    /** Launches {@code function}; {@code parameters} is the void*[] of pointers to each argument. */
    public void launch(MemorySegment function, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                       int sharedBytes, MemorySegment stream, MemorySegment parameters) {
        check("cuLaunchKernel", lib.status("cuLaunchKernel", FunctionDescriptor.of(JAVA_INT, ADDRESS,
                        JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS),
                function, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes, stream, parameters, MemorySegment.NULL));
    }

    /** Starts recording the stream's work into a graph instead of running it (this thread's captures only). */
    public void beginCapture(MemorySegment stream) {
        check("cuStreamBeginCapture", lib.status("cuStreamBeginCapture_v2", STATUS_OF_ADDRESS_INT, stream, CAPTURE_MODE_THREAD_LOCAL));
    }

    public MemorySegment endCapture(MemorySegment stream) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment graph = arena.allocate(ADDRESS);
            check("cuStreamEndCapture", lib.status("cuStreamEndCapture", STATUS_OF_2_ADDRESSES, stream, graph));
            return graph.get(ADDRESS, 0);
        }
    }

    public MemorySegment instantiate(MemorySegment graph) {
        return addressOut("cuGraphInstantiateWithFlags", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG), graph, 0L);
    }

    public void launchGraph(MemorySegment executable, MemorySegment stream) {
        check("cuGraphLaunch", lib.status("cuGraphLaunch", STATUS_OF_2_ADDRESSES, executable, stream));
    }

    public void destroyGraph(MemorySegment graph) {
        check("cuGraphDestroy", lib.status("cuGraphDestroy", STATUS_OF_ADDRESS, graph));
    }

    public void destroyGraphExecutable(MemorySegment executable) {
        check("cuGraphExecDestroy", lib.status("cuGraphExecDestroy", STATUS_OF_ADDRESS, executable));
    }
}
