package dev.expertmesh.quantization;

import dev.expertmesh.checkpoint.DType;
import dev.expertmesh.checkpoint.Tensor;
import dev.expertmesh.checkpoint.TensorInfo;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.tensor.Weight;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.regex.Pattern;

/**
 * The reference for a quantization plan: a checkpoint whose matrices the plan names (found here by
 * their names, apart from the loaders) are replaced by their quantized values, dequantized to F32.
 * The unquantized engine over it computes what the engine with the plan should, up to the rounding
 * of scale·q to fp32.
 */
public final class DequantizedWeights implements TensorSource {
    private static final Pattern EXPERT = Pattern.compile("model\\.layers\\.\\d+\\.mlp\\.(experts\\.\\d+|shared_experts)\\.\\w+_proj\\.weight");
    private static final Pattern ATTENTION_OR_DENSE = Pattern.compile("model\\.layers\\.\\d+\\.(self_attn\\.\\w*_proj\\w*|mlp\\.\\w+_proj)\\.weight");

    private final TensorSource checkpoint;
    private final QuantizationPlan plan;
    private final Arena arena = Arena.ofShared();

    public DequantizedWeights(TensorSource checkpoint, QuantizationPlan plan) {
        this.checkpoint = checkpoint;
        this.plan = plan;
    }

    @Override
    public Tensor tensor(String name, long... expectedShape) {
        Tensor tensor = checkpoint.tensor(name, expectedShape);
        Quantization quantization = EXPERT.matcher(name).matches() ? plan.experts()
                : ATTENTION_OR_DENSE.matcher(name).matches() ? plan.attentionAndDense() : Quantization.NONE;
        return quantization == Quantization.NONE ? tensor : dequantized(tensor, quantization);
    }

    private Tensor dequantized(Tensor tensor, Quantization quantization) {
        Weight quantized = quantization.apply(Weight.of(tensor, arena), arena);
        MemorySegment f32 = arena.allocate((long) quantized.rows() * quantized.cols() * Float.BYTES, 64);
        for (int r = 0; r < quantized.rows(); r++) {
            for (int c = 0; c < quantized.cols(); c++) {
                f32.setAtIndex(Weight.F32, (long) r * quantized.cols() + c, quantized.get(r, c));
            }
        }
        return new Tensor(new TensorInfo(tensor.info().name(), null, DType.F32, tensor.info().shape(), 0, f32.byteSize()), f32);
    }

    @Override
    public long totalBytes() {
        return checkpoint.totalBytes();
    }

    @Override
    public void close() {
        arena.close();
        checkpoint.close();
    }
}
