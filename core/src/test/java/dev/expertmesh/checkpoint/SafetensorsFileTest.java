package dev.expertmesh.checkpoint;

import dev.expertmesh.tensor.Weight;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SafetensorsFileTest {
    @TempDir
    Path dir;

    @Test
    void handBuiltFileIsReadAsLittleEndianWithMetadata() throws IOException {
        Path file = dir.resolve("t.safetensors");
        // BF16 0x3FC0 = 1.5 and 0xC000 = -2, stored low byte first; F32 follows at byte 4.
        byte[] data = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
                .putShort((short) 0x3FC0).putShort((short) 0xC000).putFloat(0.75f).array();
        RawSafetensors.write(file, "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"h\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                + "\"f\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[4,8]}}", data);

        try (SafetensorsFile st = SafetensorsFile.open(file); Arena arena = Arena.ofConfined()) {
            assertThat(st.metadata()).containsEntry("format", "pt");
            assertThat(st.tensors()).doesNotContainKey("__metadata__");
            assertThat(Weight.toFloats(st.map("h", arena))).containsExactly(1.5f, -2f);
            assertThat(Weight.toFloats(st.map("f", arena))).containsExactly(0.75f);
        }
    }


    @Test
    void truncatedDataIsRejectedNamingFileAndTensor() throws IOException {
        Path file = dir.resolve("cut.safetensors");
        RawSafetensors.write(file, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", RawSafetensors.littleEndianFloats(1, 2, 3));

        assertThatThrownBy(() -> SafetensorsFile.open(file))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("tensor w")
                .hasMessageContaining("truncated");
    }


    @Test
    void headerLengthBeyondFileSizeIsRejectedNamingTheFile() throws IOException {
        Path file = dir.resolve("long.safetensors");
        byte[] bytes = ByteBuffer.allocate(8 + 4).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).put("{}  ".getBytes()).array();
        Files.write(file, bytes);

        assertThatThrownBy(() -> SafetensorsFile.open(file))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("1000");
    }


    @Test
    void fileShorterThanTheHeaderLengthFieldIsRejectedNamingTheFile() throws IOException {
        Path file = dir.resolve("tiny.safetensors");
        Files.write(file, new byte[]{1, 2, 3});

        assertThatThrownBy(() -> SafetensorsFile.open(file))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(file.toString());
    }


    @Test
    void headerThatIsNotJsonIsRejectedNamingTheFile() throws IOException {
        Path file = dir.resolve("garbage.safetensors");
        RawSafetensors.write(file, "this is not json", new byte[0]);

        assertThatThrownBy(() -> SafetensorsFile.open(file))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("JSON");
    }


    @Test
    void fp8WeightsAreReadOneByteAnElement() throws IOException {
        Path file = dir.resolve("fp8.safetensors");
        RawSafetensors.write(file, "{\"q\":{\"dtype\":\"F8_E4M3\",\"shape\":[1,2],\"data_offsets\":[0,2]}}", new byte[]{0x38, (byte) 0xC0});

        try (SafetensorsFile f = SafetensorsFile.open(file); Arena arena = Arena.ofConfined()) {
            Tensor q = f.map("q", arena);
            assertThat(q.dtype()).isEqualTo(DType.F8_E4M3);
            assertThat(q.data().toArray(ValueLayout.JAVA_BYTE)).containsExactly(0x38, (byte) 0xC0);
        }
    }

    @Test
    void fp8DataOffsetsThatDoNotHoldTheShapeAreRejected() throws IOException {
        Path file = dir.resolve("fp8-short.safetensors");
        RawSafetensors.write(file, "{\"q\":{\"dtype\":\"F8_E4M3\",\"shape\":[2,2],\"data_offsets\":[0,2]}}", new byte[2]);

        assertThatThrownBy(() -> SafetensorsFile.open(file))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("tensor q")
                .hasMessageContaining("do not hold 4 F8_E4M3 elements");
    }

    @Test
    void unsupportedDtypeIsRejectedNamingFileTensorAndDtype() throws IOException {
        Path file = dir.resolve("bool.safetensors");
        RawSafetensors.write(file, "{\"m\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[2]);

        assertThatThrownBy(() -> SafetensorsFile.open(file))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("tensor m")
                .hasMessageContaining("unsupported dtype 'BOOL'");
    }


    @Test
    void dataOffsetsThatDisagreeWithShapeAreRejectedNamingFileAndTensor() throws IOException {
        Path file = dir.resolve("offsets.safetensors");
        // shape [2, 3] of F32 needs 24 bytes, the offsets span 20.
        RawSafetensors.write(file, "{\"m\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", new byte[24]);

        assertThatThrownBy(() -> SafetensorsFile.open(file))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("tensor m")
                .hasMessageContaining("data_offsets");
    }
}
