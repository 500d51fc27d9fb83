package dev.expertmesh.cuda.stage;

import dev.expertmesh.attention.ResidentAttentionStage;
import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.cuda.device.Device;
import dev.expertmesh.cuda.runtime.Gpu;
import dev.expertmesh.engine.ComputeDevice;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertLoader;
import dev.expertmesh.moe.ExpertStage;
import dev.expertmesh.quantization.QuantizationPlan;

import java.lang.foreign.Arena;
import java.util.Map;

/**
 * A CUDA device for the nodes of a cluster: cuBLAS products between stages, the latent cache in
 * bf16 in device memory, and the hosted experts uploaded once and kept across placements.
 */
final class GpuDevice implements ComputeDevice {
    private final Device.Cuda device;
    private final Gpu gpu;
    private final CudaBackend backend;

    /** Opens the device (its kernels loaded). */
    GpuDevice(Device.Cuda device) {
        this.device = device;
        this.gpu = Gpu.open(device.ordinal());
        this.backend = new CudaBackend(gpu);
    }

    @Override
    public String name() {
        return device.toString();
    }

    @Override
    public long memoryForWeights() {
        return gpu.totalMemory();
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public ResidentAttentionStage attention(TensorSource weights, ModelConfig config, Arena arena, QuantizationPlan plan,
                                            int blockTokens, int cacheBlocks) {
        return CudaAttentionStage.load(gpu, weights, config, arena, plan, blockTokens, cacheBlocks);
    }

    @Override
    public ExpertLoader experts(TensorSource weights, ModelConfig config, Arena arena, QuantizationPlan plan) {
        return new GpuExpertLoader(weights, config, arena, plan);
    }

    /** Frees the products' weights and releases the context. */
    @Override
    public void close() {
        backend.close();
        gpu.close();
    }

    /** One {@link CudaExpertStage} from the first placement on, moved by each next one. */
    private final class GpuExpertLoader implements ExpertLoader {
        private final TensorSource weights;
        private final ModelConfig config;
        private final Arena arena;
        private final QuantizationPlan plan;
        private CudaExpertStage stage;

        GpuExpertLoader(TensorSource weights, ModelConfig config, Arena arena, QuantizationPlan plan) {
            this.weights = weights;
            this.config = config;
            this.arena = arena;
            this.plan = plan;
        }

        @Override
        public synchronized ExpertStage load(Map<Integer, int[]> routedByLayer) {
            if (stage == null) {
                stage = CudaExpertStage.load(gpu, weights, config, arena, routedByLayer, plan);
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
