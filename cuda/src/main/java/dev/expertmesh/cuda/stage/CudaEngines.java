package dev.expertmesh.cuda.stage;

import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.cuda.runtime.Gpu;
import dev.expertmesh.cuda.runtime.GpuQueue;
import dev.expertmesh.engine.DeepseekModel;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.QuantizationPlan;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.nio.file.Path;

/**
 * The single-process engine on one GPU, assembled as core's Engine assembles the CPU one: the
 * same DeepseekModel around a CUDA attention stage, a CUDA expert stage, and a CUDA backend for
 * the routers and lm_head. The model runs its unobserved steps through a {@link DeviceResidentLoop}
 * over the same stages (grouped expert products for bf16, INT8, INT4 and FP8 experts), so the
 * hidden state never leaves the device; observed steps run the host loop.
 */
public final class CudaEngines {
    private static final Logger log = LoggerFactory.getLogger(CudaEngines.class);
    /** 64-token blocks, as on the CPU. */
    public static final int BLOCK_TOKENS = 64;
    /** Cache blocks of a single-process engine: 64k tokens, about 2 GB for DeepSeek-V2-Lite. */
    public static final int CACHE_BLOCKS = 1024;
    /** Set to {@code off} to run every decode step as plain launches instead of CUDA graphs. */
    public static final String GRAPHS_VARIABLE = "EXPERTMESH_CUDA_GRAPHS";

    private CudaEngines() {
    }

    public static Engine load(Path modelDir, int ordinal) {
        return create(ModelConfig.load(modelDir), Checkpoint.open(modelDir), ordinal, QuantizationPlan.NONE);
    }

    /**
     * An engine over {@code weights} on cuda:{@code ordinal}, its weights stored as {@code plan} says;
     * closing it frees the device and closes the weights. Greedy decode steps run as CUDA graphs
     * unless the environment sets {@value #GRAPHS_VARIABLE}=off.
     */
    public static Engine create(ModelConfig config, TensorSource weights, int ordinal, QuantizationPlan plan) {
        return create(config, weights, ordinal, plan, decodeGraphs(System.getenv(GRAPHS_VARIABLE)));
    }

    static boolean decodeGraphs(String setting) {
        if (setting == null || setting.equals("on")) {
            return true;
        }
        if (setting.equals("off")) {
            return false;
        }
        throw new IllegalArgumentException(GRAPHS_VARIABLE + " is on or off (unset: on), not '" + setting + "'");
    }

    static Engine create(ModelConfig config, TensorSource weights, int ordinal, QuantizationPlan plan, boolean decodeGraphs) {
        long start = System.nanoTime();
        Arena arena = Arena.ofShared();
        Gpu gpu = null;
        CudaBackend backend = null;
        GpuQueue queue = null;
        CudaAttentionStage attention = null;
        CudaExpertStage experts = null;
        DeviceResidentLoop loop = null;
        try {
            gpu = Gpu.open(ordinal);
            backend = new CudaBackend(gpu);
            queue = new GpuQueue(gpu);
            attention = CudaAttentionStage.onQueue(queue, weights, config, arena, plan, BLOCK_TOKENS, CACHE_BLOCKS);
            experts = CudaExpertStage.onQueue(queue, weights, config, arena, plan);
            DeepseekModel model = DeepseekModel.load(weights, config, backend, arena, attention, experts, 1);
            loop = DeviceResidentLoop.load(queue, weights, config, arena, attention, experts, decodeGraphs);
            model = model.onDevice(loop);
            log.info("Loaded {} onto cuda:{} in {} ms, {}, {}", config.modelType(), ordinal, (System.nanoTime() - start) / 1_000_000,
                    plan.label(), decodeGraphs ? "activations on the device, decode steps as CUDA graphs" : "activations on the device");
            AutoCloseable[] parts = {loop, experts, attention, queue, backend, gpu, arena, weights};
            return Engine.around(model, () -> closeAll(parts), LayerObserver.NONE);
        } catch (RuntimeException | Error e) {
            closeAll(new AutoCloseable[]{loop, experts, attention, queue, backend, gpu, arena, weights});
            throw e;
        }
    }

    /** Closes each in order, all of them even if one fails; the first failure is rethrown. */
    private static void closeAll(AutoCloseable[] parts) {
        RuntimeException first = null;
        for (AutoCloseable part : parts) {
            try {
                if (part != null) {
                    part.close();
                }
            } catch (Exception e) {
                if (first == null) {
                    first = e instanceof RuntimeException r ? r : new IllegalStateException(e);
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
