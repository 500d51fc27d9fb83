package dev.expertmesh.checkpoint;

import java.util.Arrays;

/** Where a model's tensors come from: a checkpoint directory, or weights made in memory. */
public interface TensorSource extends AutoCloseable {

    /** The tensor named {@code name}, after checking that its shape is {@code expectedShape}. */
    Tensor tensor(String name, long... expectedShape);

    /** Every tensor's data size in bytes, from metadata alone. */
    long totalBytes();

    /** Releases the tensors' memory: nothing taken from this source may be used afterwards. */
    @Override
    void close();

    /** Fails unless {@code info} has the shape the model's config implies. */
    static void checkShape(TensorInfo info, long[] expectedShape) {
        if (!Arrays.equals(info.shape(), expectedShape)) {
            throw new CheckpointException((info.file() == null ? "" : info.file() + ": ") + "tensor " + info.name()
                    + " has shape " + info.shapeString() + " but config.json implies " + Arrays.toString(expectedShape)
                    + " (checkpoint and config.json do not belong together)");
        }
    }
}
