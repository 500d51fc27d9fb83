package dev.expertmesh.checkpoint;

import java.lang.foreign.MemorySegment;

/** A tensor's bytes, memory-mapped from its checkpoint file (never copied onto the heap). */
public record Tensor(TensorInfo info, MemorySegment data) {

    public DType dtype() {
        return info.dtype();
    }

    public long[] shape() {
        return info.shape();
    }

    public String name() {
        return info.name();
    }
}
