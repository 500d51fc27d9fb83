package dev.expertmesh.checkpoint;

import dev.expertmesh.tensor.Weight;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SafetensorsWriterTest {
    @TempDir
    Path dir;

    @Test
    void writerOutputReadsBackWithSameShapesAndValues() throws IOException {
        Path file = dir.resolve("t.safetensors");
        float[] a = {1f, -2.5f, 3.25f, Float.MIN_VALUE, -0f, 1e30f};
        float[] b = {42f};
        new SafetensorsWriter().addF32("a", a, 2, 3).addF32("b", b, 1).write(file);

        try (SafetensorsFile st = SafetensorsFile.open(file); Arena arena = Arena.ofConfined()) {
            assertThat(st.tensors().keySet()).containsExactly("a", "b");
            TensorInfo info = st.tensors().get("a");
            assertThat(info.dtype()).isEqualTo(DType.F32);
            assertThat(info.shape()).containsExactly(2, 3);
            assertThat(info.fileOffset() % 8).as("data starts 8-byte aligned").isZero();
            assertThat(Weight.toFloats(st.map("a", arena))).containsExactly(a);
            assertThat(Weight.toFloats(st.map("b", arena))).containsExactly(b);
        }
    }


    @Test
    void valuesThatDoNotFillTheShapeAreRejectedNamingTheTensor() {
        assertThatThrownBy(() -> new SafetensorsWriter().addF32("short", new float[5], 2, 3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("short")
                .hasMessageContaining("[2, 3]");
    }
}
