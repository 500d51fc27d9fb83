package dev.expertmesh.cuda.stage;

import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.cuda.runtime.Bf16;
import dev.expertmesh.cuda.runtime.DeviceBuffer;
import dev.expertmesh.cuda.runtime.DeviceWeight;
import dev.expertmesh.cuda.runtime.Gpu;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.Quantization;
import dev.expertmesh.tensor.Weight;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One layer's attention weights on the device: the input norm, the query path (q_proj, or q_a_proj,
 * its norm and q_b_proj), kv_a_proj_with_mqa with its norm, kv_b_proj and o_proj. Norm gains are
 * bf16 vectors as rms_norm reads them. Projections are stored as the layer's quantization says (a
 * quantized one runs through quantized_linear.cu), but kv_b_proj, which goes up as bf16.
 */
record GpuMla(DeviceBuffer inputNorm, DeviceWeight qProj, DeviceWeight qAProj, DeviceBuffer qANorm, DeviceWeight qBProj,
              DeviceWeight kvAProj, DeviceBuffer kvANorm, DeviceWeight kvBProj, DeviceWeight oProj) {

    static GpuMla upload(Gpu gpu, TensorSource weights, ModelConfig config, int layer, Arena arena, Quantization quantization) {
        String p = "model.layers." + layer + ".self_attn.";
        int hidden = config.hiddenSize();
        int heads = config.numAttentionHeads();
        int qWidth = heads * config.qkHeadDim();
        DeviceBuffer inputNorm = gain(gpu, Weight.toFloats(weights.tensor("model.layers." + layer + ".input_layernorm.weight", hidden)));
        DeviceWeight qProj = null;
        DeviceWeight qAProj = null;
        DeviceBuffer qANorm = null;
        DeviceWeight qBProj = null;
        if (config.hasQLora()) {
            qAProj = matrix(gpu, weights, p + "q_a_proj.weight", config.qLoraRank(), hidden, arena, quantization);
            qANorm = gain(gpu, Weight.toFloats(weights.tensor(p + "q_a_layernorm.weight", config.qLoraRank())));
            qBProj = matrix(gpu, weights, p + "q_b_proj.weight", qWidth, config.qLoraRank(), arena, quantization);
        } else {
            qProj = matrix(gpu, weights, p + "q_proj.weight", qWidth, hidden, arena, quantization);
        }
        return new GpuMla(inputNorm, qProj, qAProj, qANorm, qBProj,
                matrix(gpu, weights, p + "kv_a_proj_with_mqa.weight", config.latentCacheWidth(), hidden, arena, quantization),
                gain(gpu, Weight.toFloats(weights.tensor(p + "kv_a_layernorm.weight", config.kvLoraRank()))),
                // Decode reads kv_b_proj per head through cuBLAS (absorbed into q and the output): bf16, its
                // quantized values dequantized, so that it multiplies as the CPU's quantized kv_b_proj does.
                kvBProj(gpu, weights, p + "kv_b_proj.weight", (long) heads * (config.qkNopeHeadDim() + config.vHeadDim()),
                        config.kvLoraRank(), arena, quantization),
                matrix(gpu, weights, p + "o_proj.weight", hidden, (long) heads * config.vHeadDim(), arena, quantization));
    }

    private static DeviceWeight matrix(Gpu gpu, TensorSource weights, String name, long rows, long cols, Arena arena,
                                       Quantization quantization) {
        try (Arena quantized = Arena.ofShared()) {
            return DeviceWeight.upload(gpu, quantization.apply(Weight.load(weights, name, rows, cols, arena), quantized));
        }
    }

    private static DeviceWeight kvBProj(Gpu gpu, TensorSource weights, String name, long rows, long cols, Arena arena,
                                        Quantization quantization) {
        try (Arena quantized = Arena.ofShared()) {
            return DeviceWeight.asBf16(gpu, quantization.apply(Weight.load(weights, name, rows, cols, arena), quantized));
        }
    }

    /** A norm's gain as a bf16 vector. */
    static DeviceBuffer gain(Gpu gpu, float[] values) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bf16 = arena.allocate((long) values.length * 2, 2);
            for (int i = 0; i < values.length; i++) {
                bf16.setAtIndex(Weight.BF16, i, Bf16.round(values[i]));
            }
            return gpu.upload(bf16);
        }
    }

    void free(Gpu gpu) {
        for (DeviceBuffer b : new DeviceBuffer[]{inputNorm, qANorm, kvANorm}) {
            if (b != null) {
                gpu.free(b);
            }
        }
        for (DeviceWeight w : new DeviceWeight[]{qProj, qAProj, qBProj, kvAProj, kvBProj, oProj}) {
            if (w != null) {
                w.free(gpu);
            }
        }
    }
}
