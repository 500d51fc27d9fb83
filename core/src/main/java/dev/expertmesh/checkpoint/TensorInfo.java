package dev.expertmesh.checkpoint;

import java.nio.file.Path;
import java.util.Arrays;

/** Where one tensor lives: its file, dtype, shape and byte range relative to the file's start. */
public record TensorInfo(String name, Path file, DType dtype, long[] shape, long fileOffset, long byteSize) {

    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }
}
