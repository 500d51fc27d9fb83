package dev.expertmesh.benchmarks;

import dev.expertmesh.checkpoint.DType;

import java.util.Arrays;

/** A BF16 checkpoint tensor to synthesize: its Hugging Face name and shape ([out, in] for a matrix). */
record TensorSpec(String name, long... shape) {
    long byteSize() {
        return Arrays.stream(shape).reduce(1, Math::multiplyExact) * DType.BF16.byteSize();
    }
}
