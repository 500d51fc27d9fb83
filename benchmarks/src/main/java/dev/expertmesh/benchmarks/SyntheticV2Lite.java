package dev.expertmesh.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.model.ModelConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** A DeepSeek-V2-Lite-width model with random BF16 weights, written as a Hugging Face model directory. */
record SyntheticV2Lite(Path directory, ModelConfig config, List<TensorSpec> tensors) implements AutoCloseable {

    /** Writes config.json and model.safetensors for {@code layers} decoder layers into a new temporary directory. */
    static SyntheticV2Lite create(int layers, long seed) throws IOException {
        ObjectNode json = V2LiteConfig.withLayers(layers);
        ModelConfig config = ModelConfig.parse(json);
        List<TensorSpec> tensors = DeepseekTensorLayout.tensors(config);
        Path dir = Files.createTempDirectory("expertmesh-v2lite-");
        try {
            Files.writeString(dir.resolve(ModelConfig.FILE), new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(json));
            RandomBf16SafetensorsWriter.write(dir.resolve(Checkpoint.SINGLE_FILE), tensors, seed);
        } catch (IOException | RuntimeException e) {
            delete(dir);
            throw e;
        }
        return new SyntheticV2Lite(dir, config, tensors);
    }

    /** Deletes the model directory. */
    @Override
    public void close() throws IOException {
        delete(directory);
    }

    private static void delete(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
