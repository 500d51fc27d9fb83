package dev.expertmesh.checkpoint;

import dev.expertmesh.tensor.Weight;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CheckpointTest {
    @TempDir
    Path dir;

    private void writeIndex(String weightMap) throws IOException {
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), "{\"metadata\": {}, \"weight_map\": " + weightMap + "}");
    }

    @Test
    void singleFileCheckpointExposesItsTensors() throws IOException {
        new SafetensorsWriter().addF32("w", new float[]{1, 2, 3, 4, 5, 6}, 2, 3)
                .write(dir.resolve(Checkpoint.SINGLE_FILE));

        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            assertThat(ckpt.tensorNames()).containsExactly("w");
            assertThat(ckpt.tensorNames()).contains("w");
            assertThat(ckpt.info("w").file()).isEqualTo(dir.resolve(Checkpoint.SINGLE_FILE));
            assertThat(Weight.toFloats(ckpt.tensor("w", 2, 3))).containsExactly(1, 2, 3, 4, 5, 6);
        }
    }


    @Test
    void shardedCheckpointFindsEachTensorInItsShard() throws IOException {
        Path first = dir.resolve("model-00001-of-00002.safetensors");
        Path second = dir.resolve("model-00002-of-00002.safetensors");
        new SafetensorsWriter().addF32("x", new float[]{1, 2}, 2).addF32("y", new float[]{3}, 1).write(first);
        new SafetensorsWriter().addF32("z", new float[]{4, 5, 6}, 3).write(second);
        writeIndex("{\"x\": \"" + first.getFileName() + "\", \"y\": \"" + first.getFileName()
                + "\", \"z\": \"" + second.getFileName() + "\"}");

        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            assertThat(ckpt.tensorNames()).containsExactlyInAnyOrder("x", "y", "z");
            assertThat(ckpt.info("x").file()).isEqualTo(first);
            assertThat(ckpt.info("z").file()).isEqualTo(second);
            assertThat(Weight.toFloats(ckpt.tensor("x", 2))).containsExactly(1, 2);
            assertThat(Weight.toFloats(ckpt.tensor("y", 1))).containsExactly(3);
            assertThat(Weight.toFloats(ckpt.tensor("z", 3))).containsExactly(4, 5, 6);
        }
    }


    @Test
    void directoryWithoutIndexOrModelFileIsRejectedNamingTheDirectory() {
        assertThatThrownBy(() -> Checkpoint.open(dir))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(dir.toString())
                .hasMessageContaining(Checkpoint.INDEX_FILE)
                .hasMessageContaining(Checkpoint.SINGLE_FILE);
    }


    @Test
    void missingShardIsRejectedNamingTheShard() throws IOException {
        new SafetensorsWriter().addF32("x", new float[]{1}, 1).write(dir.resolve("model-00001-of-00002.safetensors"));
        writeIndex("{\"x\": \"model-00001-of-00002.safetensors\", \"z\": \"model-00002-of-00002.safetensors\"}");

        assertThatThrownBy(() -> Checkpoint.open(dir))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("model-00002-of-00002.safetensors");
    }


    @Test
    void indexThatIsNotJsonIsRejectedNamingTheIndex() throws IOException {
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), "{\"weight_map\": ");

        assertThatThrownBy(() -> Checkpoint.open(dir))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(dir.resolve(Checkpoint.INDEX_FILE).toString());
    }

    @Test
    void indexWithoutWeightMapIsRejectedNamingTheIndex() throws IOException {
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), "{\"metadata\": {}}");

        assertThatThrownBy(() -> Checkpoint.open(dir))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(dir.resolve(Checkpoint.INDEX_FILE).toString())
                .hasMessageContaining("weight_map");
    }

    @Test
    void tensorListedInIndexButAbsentFromShardIsRejectedNamingShardAndTensor() throws IOException {
        new SafetensorsWriter().addF32("x", new float[]{1}, 1).write(dir.resolve("shard.safetensors"));
        writeIndex("{\"x\": \"shard.safetensors\", \"ghost.weight\": \"shard.safetensors\"}");

        assertThatThrownBy(() -> Checkpoint.open(dir))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("shard.safetensors")
                .hasMessageContaining("ghost.weight");
    }


    @Test
    void askingForTheWrongShapeIsRejectedNamingTensorAndBothShapes() throws IOException {
        new SafetensorsWriter().addF32("w", new float[6], 2, 3).write(dir.resolve(Checkpoint.SINGLE_FILE));

        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            assertThatThrownBy(() -> ckpt.tensor("w", 3, 2))
                    .isInstanceOf(CheckpointException.class)
                    .hasMessageContaining(Checkpoint.SINGLE_FILE)
                    .hasMessageContaining("tensor w")
                    .hasMessageContaining("[2, 3]")
                    .hasMessageContaining("[3, 2]");
        }
    }


    @Test
    void askingForAnAbsentTensorIsRejectedNamingTheTensor() throws IOException {
        new SafetensorsWriter().addF32("w", new float[1], 1).write(dir.resolve(Checkpoint.SINGLE_FILE));

        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            assertThatThrownBy(() -> ckpt.tensor("nope", 1))
                    .isInstanceOf(CheckpointException.class)
                    .hasMessageContaining(dir.toString())
                    .hasMessageContaining("nope");
        }
    }


    @Test
    void multiGigabyteSparseTensorMapsWithoutReadingItsData() throws IOException {
        long rows = 1 << 16;
        long cols = 1 << 14;
        long bytes = rows * cols * 4; // 4 GiB of F32, never written: the file is sparse
        Path file = dir.resolve(Checkpoint.SINGLE_FILE);
        RawSafetensors.write(file, "{\"big\":{\"dtype\":\"F32\",\"shape\":[" + rows + "," + cols + "],\"data_offsets\":[0," + bytes + "]}}",
                new byte[0]);
        long headerEnd = Files.size(file);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(headerEnd + bytes);
            raf.seek(headerEnd + bytes - 4);
            raf.write(RawSafetensors.littleEndianFloats(-7.5f));
        }

        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            Tensor big = ckpt.tensor("big", rows, cols);
            assertThat(big.data().byteSize()).isEqualTo(bytes);
            assertThat(big.data().getAtIndex(Weight.F32, 0)).isZero();
            assertThat(big.data().getAtIndex(Weight.F32, rows * cols / 2)).isZero();
            assertThat(big.data().getAtIndex(Weight.F32, rows * cols - 1)).isEqualTo(-7.5f);
        }
    }
}
