package dev.expertmesh.moe;

import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.quantization.Quantization;
import dev.expertmesh.tensor.Weight;

import java.lang.foreign.Arena;

/** A SwiGLU feed-forward network: down(silu(gate(x)) ⊙ up(x)). Routed, shared and dense MLPs alike. */
public record Expert(Weight gate, Weight up, Weight down) {

    /** Loads {@code prefix}gate_proj / up_proj / down_proj, checking shapes against hidden and intermediate sizes. */
    public static Expert load(TensorSource weights, String prefix, int hidden, int intermediate, Arena arena) {
        return new Expert(
                Weight.load(weights, prefix + "gate_proj.weight", intermediate, hidden, arena),
                Weight.load(weights, prefix + "up_proj.weight", intermediate, hidden, arena),
                Weight.load(weights, prefix + "down_proj.weight", hidden, intermediate, arena));
    }

    /** This expert with its three matrices stored as {@code quantization} says, new bytes in {@code arena}. */
    public Expert quantized(Quantization quantization, Arena arena) {
        return new Expert(quantization.apply(gate, arena), quantization.apply(up, arena), quantization.apply(down, arena));
    }

    public int intermediateSize() {
        return gate.rows();
    }

    /** The expert's output for {@code rows} rows of x. */
    public float[] forward(Backend backend, float[] x, int rows) {
        int n = rows * intermediateSize();
        float[] g = new float[n];
        float[] u = new float[n];
        backend.matmul(gate, x, rows, g);
        backend.matmul(up, x, rows, u);
        backend.siluMul(g, u, g, n);
        float[] out = new float[rows * down.rows()];
        backend.matmul(down, g, rows, out);
        return out;
    }
}
