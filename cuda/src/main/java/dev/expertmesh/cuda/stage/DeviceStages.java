package dev.expertmesh.cuda.stage;

import dev.expertmesh.attention.LatentBlockPool;
import dev.expertmesh.attention.LocalAttentionStage;
import dev.expertmesh.attention.ResidentAttentionStage;
import dev.expertmesh.backend.Backend;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.cuda.device.Device;
import dev.expertmesh.cuda.runtime.Gpu;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertLoader;
import dev.expertmesh.moe.ExpertStage;
import dev.expertmesh.moe.LocalExpertStage;

import java.lang.foreign.Arena;
import java.lang.management.ManagementFactory;
import java.util.Map;

/**
 * What runs a model on a {@link Device}: a whole single-process engine, or, opened for the nodes of
 * a cluster, the backend they compute with between stages and the attention and expert stages of
 * the workers, on the host or on the GPU. Close it after the nodes that use it.
 */
public final class DeviceStages implements AutoCloseable {
    private final Device device;
    private final Backend backend;
    /** Null on the CPU. */
    private final Gpu gpu;

    private DeviceStages(Device device, Backend backend, Gpu gpu) {
        this.device = device;
        this.backend = backend;
        this.gpu = gpu;
    }

    /** The device's stages; a CUDA device is opened here (its kernels loaded). */
    public static DeviceStages open(Device device) {
        return switch (device) {
            case Device.Cpu cpu -> new DeviceStages(cpu, new CpuBackend(), null);
            case Device.Cuda cuda -> {
                Gpu gpu = Gpu.open(cuda.ordinal());
                yield new DeviceStages(cuda, new CudaBackend(gpu), gpu);
            }
        };
    }

    /** The single-process engine on the device; it closes {@code weights} when closed. */
    public static Engine engine(Device device, ModelConfig config, TensorSource weights, String origin) {
        return switch (device) {
            case Device.Cpu cpu -> Engine.create(config, weights, new CpuBackend(), origin);
            case Device.Cuda cuda -> CudaEngines.create(config, weights, cuda.ordinal());
        };
    }

    public static DeviceStages cpu() {
        return open(new Device.Cpu());
    }

    public Device device() {
        return device;
    }

    /** The CPU backend, or one whose large products run through cuBLAS. */
    public Backend backend() {
        return backend;
    }

    /** What a node offers for weights: the GPU's memory, or the machine's. */
    public long memoryForWeights() {
        return gpu != null ? gpu.totalMemory()
                : ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
    }

    /**
     * Every layer's attention over {@code weights} with a latent cache of {@code cacheBlocks} blocks
     * of {@code blockTokens} positions: on the host (fp32), or on the GPU (bf16, in device memory).
     * {@code weights} and {@code arena} must outlive it.
     */
    public ResidentAttentionStage attention(TensorSource weights, ModelConfig config, Arena arena, int blockTokens, int cacheBlocks) {
        if (gpu != null) {
            return CudaAttentionStage.load(gpu, weights, config, arena, blockTokens, cacheBlocks);
        }
        return LocalAttentionStage.load(weights, config, backend, arena,
                new LatentBlockPool(config.numHiddenLayers(), config.latentCacheWidth(), blockTokens, cacheBlocks));
    }

    /**
     * Experts as an expert worker hosts them. On the host, each placement maps its experts anew;
     * on the GPU one stage follows the placements, uploading only the experts each one adds.
     * {@code weights} and {@code arena} must outlive it.
     */
    public ExpertLoader experts(TensorSource weights, ModelConfig config, Arena arena) {
        if (gpu != null) {
            return new GpuExpertLoader(gpu, weights, config, arena);
        }
        return new ExpertLoader() {
            @Override
            public ExpertStage load(Map<Integer, int[]> routedByLayer) {
                return LocalExpertStage.load(weights, config, backend, arena, routedByLayer);
            }

            @Override
            public void close() {
                // Mapped checkpoint tensors only: the arena's owner frees them.
            }
        };
    }

    /** Frees the GPU's products' weights and releases its context; nothing on the CPU. */
    @Override
    public void close() {
        if (backend instanceof CudaBackend cuda) {
            cuda.close();
        }
        if (gpu != null) {
            gpu.close();
        }
    }

    /** One {@link CudaExpertStage} from the first placement on, moved by each next one. */
    private static final class GpuExpertLoader implements ExpertLoader {
        private final Gpu gpu;
        private final TensorSource weights;
        private final ModelConfig config;
        private final Arena arena;
        private CudaExpertStage stage;

        GpuExpertLoader(Gpu gpu, TensorSource weights, ModelConfig config, Arena arena) {
            this.gpu = gpu;
            this.weights = weights;
            this.config = config;
            this.arena = arena;
        }

        @Override
        public synchronized ExpertStage load(Map<Integer, int[]> routedByLayer) {
            if (stage == null) {
                stage = CudaExpertStage.load(gpu, weights, config, arena, routedByLayer);
            } else {
                stage.host(routedByLayer);
            }
            return stage;
        }

        @Override
        public synchronized void close() {
            if (stage != null) {
                stage.close();
            }
        }
    }
}
