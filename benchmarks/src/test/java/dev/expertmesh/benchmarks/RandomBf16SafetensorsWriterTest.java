package dev.expertmesh.benchmarks;

import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.DType;
import dev.expertmesh.checkpoint.Tensor;
import dev.expertmesh.tensor.Weight;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RandomBf16SafetensorsWriterTest {
    @TempDir
    Path dir;

    @Test
    void writesRandomMatricesAndUnitVectorsThatTheCheckpointReaderLoads() throws IOException {
        RandomBf16SafetensorsWriter.write(dir.resolve(Checkpoint.SINGLE_FILE),
                List.of(new TensorSpec("m", 3, 12), new TensorSpec("gain", 4)), 5);

        try (Checkpoint checkpoint = Checkpoint.open(dir)) {
            Tensor m = checkpoint.tensor("m", 3, 12);
            assertEquals(DType.BF16, m.dtype());
            for (float v : Weight.toFloats(m)) {
                float magnitude = Math.abs(v);
                assertTrue(magnitude >= 0x1p-7f && magnitude < 0x1p-6f, "random weight " + v);
            }
            for (float v : Weight.toFloats(checkpoint.tensor("gain", 4))) {
                assertEquals(1f, v);
            }
        }
    }
}
