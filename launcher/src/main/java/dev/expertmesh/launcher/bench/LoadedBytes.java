package dev.expertmesh.launcher.bench;

import dev.expertmesh.checkpoint.DType;
import dev.expertmesh.checkpoint.TensorInfo;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.Quantization;
import dev.expertmesh.tensor.Weight;

import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.Map;
import java.util.function.ToLongFunction;
import java.util.regex.Pattern;

/**
 * Bytes a tensor takes once loaded with a quantization: a routed or shared expert's matrix as the
 * quantization stores it, scales included, and every other tensor as the checkpoint has it. The
 * size depends on the shape alone, so each shape is quantized once, from zeros.
 */
final class LoadedBytes implements ToLongFunction<TensorInfo> {
    private static final Pattern EXPERT_MATRIX =
            Pattern.compile("model\\.layers\\.\\d+\\.mlp\\.(experts\\.\\d+|shared_experts)\\.(gate|up|down)_proj\\.weight");

    private final Quantization quantization;
    private final Map<Long, Long> byShape = new HashMap<>();

    LoadedBytes(Quantization quantization) {
        this.quantization = quantization;
    }

    @Override
    public long applyAsLong(TensorInfo t) {
        if (!EXPERT_MATRIX.matcher(t.name()).matches()) {
            return t.byteSize();
        }
        return matrix(Math.toIntExact(t.shape()[0]), Math.toIntExact(t.shape()[1]));
    }

    /** One routed expert's gate, up and down projections with their scales. */
    long routedExpert(ModelConfig config) {
        int hidden = config.hiddenSize();
        int intermediate = config.moeIntermediateSize();
        return 2 * matrix(intermediate, hidden) + matrix(hidden, intermediate);
    }

    private long matrix(int rows, int cols) {
        return byShape.computeIfAbsent((long) rows << 32 | cols, shape -> {
            try (Arena arena = Arena.ofConfined()) {
                Weight zeros = new Weight("zeros", arena.allocate((long) rows * cols * DType.BF16.byteSize()), DType.BF16, rows, cols);
                Weight loaded = quantization.apply(zeros, arena);
                return loaded.data().byteSize() + loaded.format().scaleBytes();
            }
        });
    }
}
