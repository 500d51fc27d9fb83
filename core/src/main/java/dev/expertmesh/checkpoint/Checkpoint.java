package dev.expertmesh.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face checkpoint directory: shards named by model.safetensors.index.json, or one
 * model.safetensors. Opening reads one header per shard whatever the checkpoint's size; tensors are
 * memory-mapped one by one as they are asked for, so a reader that asks for a few experts maps only
 * those.
 */
public final class Checkpoint implements TensorSource {
    public static final String INDEX_FILE = "model.safetensors.index.json";
    public static final String SINGLE_FILE = "model.safetensors";

    private final Path directory;
    private final Map<String, SafetensorsFile> fileOfTensor;
    private final Arena arena = Arena.ofShared();

    private Checkpoint(Path directory, Map<String, SafetensorsFile> fileOfTensor) {
        this.directory = directory;
        this.fileOfTensor = fileOfTensor;
    }

    public static Checkpoint open(Path directory) {
        Path index = directory.resolve(INDEX_FILE);
        Path single = directory.resolve(SINGLE_FILE);
        if (Files.isRegularFile(index)) {
            return openSharded(directory, index);
        }
        if (Files.isRegularFile(single)) {
            SafetensorsFile file = SafetensorsFile.open(single);
            Map<String, SafetensorsFile> fileOfTensor = new LinkedHashMap<>();
            file.tensors().keySet().forEach(name -> fileOfTensor.put(name, file));
            return new Checkpoint(directory, fileOfTensor);
        }
        throw new CheckpointException(directory + ": neither " + INDEX_FILE + " nor " + SINGLE_FILE
                + " found; point --model at a Hugging Face checkpoint directory");
    }

    private static Checkpoint openSharded(Path directory, Path index) {
        JsonNode weightMap;
        try {
            weightMap = new ObjectMapper().readTree(index.toFile()).path("weight_map");
        } catch (IOException e) {
            throw new CheckpointException(index + ": cannot read the shard index: " + oneLine(e), e);
        }
        if (!weightMap.isObject() || weightMap.isEmpty()) {
            throw new CheckpointException(index + ": no 'weight_map' object naming the shards");
        }
        Map<String, SafetensorsFile> shards = new HashMap<>();
        Map<String, SafetensorsFile> fileOfTensor = new LinkedHashMap<>();
        try {
            for (var entry : weightMap.properties()) {
                String shardName = entry.getValue().asText();
                SafetensorsFile shard = shards.get(shardName);
                if (shard == null) {
                    shard = SafetensorsFile.open(directory.resolve(shardName));
                    shards.put(shardName, shard);
                }
                if (!shard.tensors().containsKey(entry.getKey())) {
                    throw new CheckpointException(shard.path() + ": tensor " + entry.getKey()
                            + " is listed in " + INDEX_FILE + " but missing from this shard");
                }
                fileOfTensor.put(entry.getKey(), shard);
            }
        } catch (RuntimeException e) {
            shards.values().forEach(SafetensorsFile::close);
            throw e;
        }
        return new Checkpoint(directory, fileOfTensor);
    }

    private static String oneLine(IOException e) {
        return e instanceof JsonProcessingException json ? json.getOriginalMessage() : String.valueOf(e.getMessage());
    }

    public Set<String> tensorNames() {
        return fileOfTensor.keySet();
    }

    @Override
    public long totalBytes() {
        return tensorNames().stream().mapToLong(name -> info(name).byteSize()).sum();
    }

    public TensorInfo info(String name) {
        SafetensorsFile file = fileOfTensor.get(name);
        if (file == null) {
            throw new CheckpointException(directory + ": tensor " + name + " is missing from the checkpoint");
        }
        return file.tensors().get(name);
    }

    /**
     * Maps one tensor's bytes after checking its shape. One mapping a tensor: an expert worker maps
     * exactly its experts. A whole DeepSeek-V3 in one process takes about 45,000 mappings, under
     * Linux's default limit of 65,530 (vm.max_map_count).
     */
    @Override
    public Tensor tensor(String name, long... expectedShape) {
        TensorSource.checkShape(info(name), expectedShape);
        return fileOfTensor.get(name).map(name, arena);
    }

    /** Unmaps the shards; no tensor of this checkpoint may be used afterwards. */
    @Override
    public void close() {
        try {
            arena.close();
        } finally {
            fileOfTensor.values().stream().distinct().forEach(SafetensorsFile::close);
        }
    }
}
