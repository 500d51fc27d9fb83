package dev.expertmesh.cuda.runtime;

import dev.expertmesh.cuda.binding.CudaDriver;
import dev.expertmesh.cuda.binding.CudaException;
import dev.expertmesh.cuda.binding.Nvrtc;
import dev.expertmesh.cuda.compile.KernelCache;
import dev.expertmesh.cuda.compile.KernelSources;
import dev.expertmesh.cuda.compile.NvrtcCompiler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;

/**
 * One CUDA device with its primary context and the project's kernels compiled for it. Threads
 * that issue work call {@link #makeCurrent} first (queues do it for each call).
 */
public final class Gpu implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Gpu.class);
    private final CudaDriver driver;
    private final int device;
    private final MemorySegment context;
    private final int architecture;
    private final Map<String, MemorySegment> functions = new HashMap<>();

    private Gpu(CudaDriver driver, int device, MemorySegment context, int architecture) {
        this.driver = driver;
        this.device = device;
        this.context = context;
        this.architecture = architecture;
    }

    /** Device {@code ordinal}, its context current on this thread and the kernels loaded into it. */
    public static Gpu open(int ordinal) {
        CudaDriver driver = CudaDriver.load();
        int count = driver.deviceCount();
        if (ordinal >= count) {
            throw new CudaException("cuda:" + ordinal + " does not exist: this machine has " + count + " CUDA device"
                    + (count == 1 ? "" : "s"));
        }
        int device = driver.device(ordinal);
        int architecture = 10 * driver.attribute(device, CudaDriver.ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)
                + driver.attribute(device, CudaDriver.ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        Gpu gpu = new Gpu(driver, device, driver.retainPrimaryContext(device), architecture);
        gpu.makeCurrent();
        log.info("cuda:{} is {} (sm_{}, {} GiB), driver {}", ordinal, driver.name(device), architecture,
                driver.totalMemory(device) >> 30, driver.driverVersion());
        gpu.loadKernels(new KernelCache(KernelCache.defaultDirectory(), new NvrtcCompiler(Nvrtc.load())));
        return gpu;
    }

    private void loadKernels(KernelCache cache) {
        KernelSources.all().forEach((file, source) -> {
            MemorySegment module = driver.loadModule(cache.binary(file, source, architecture));
            for (String kernel : KernelNames.in(source)) {
                functions.put(kernel, driver.function(module, kernel));
            }
        });
    }

    public CudaDriver driver() {
        return driver;
    }

    /** The device's memory in bytes. */
    public long totalMemory() {
        return driver.totalMemory(device);
    }

    public void makeCurrent() {
        driver.setCurrent(context);
    }

    /** The loaded kernel of that name (extern "C", so the source's name). */
    MemorySegment function(String kernel) {
        MemorySegment function = functions.get(kernel);
        if (function == null) {
            throw new CudaException("no kernel named " + kernel + " was compiled (a broken build)");
        }
        return function;
    }

    public DeviceBuffer allocate(long bytes) {
        return new DeviceBuffer(driver.allocate(Math.max(bytes, 1)), bytes);
    }

    public void free(DeviceBuffer buffer) {
        driver.free(buffer.address());
    }

    /** A copy of host memory on the device, complete when this returns. */
    public DeviceBuffer upload(MemorySegment host) {
        DeviceBuffer buffer = allocate(host.byteSize());
        MemorySegment stream = MemorySegment.NULL;
        driver.copyToDevice(buffer.address(), host, host.byteSize(), stream);
        driver.synchronize(stream);
        return buffer;
    }

    public DeviceBuffer upload(float[] values) {
        try (Arena arena = Arena.ofConfined()) {
            return upload(arena.allocateFrom(ValueLayout.JAVA_FLOAT, values));
        }
    }

    @Override
    public void close() {
        driver.releasePrimaryContext(device);
    }
}
