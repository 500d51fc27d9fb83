package dev.expertmesh.launcher;

import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Arrays;

/** The options every model command takes: the checkpoint and the prompt. */
final class ModelOptions {
    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Hugging Face model directory: config.json and *.safetensors (sharded with model.safetensors.index.json, or one model.safetensors).")
    Path model;

    @Option(names = "--prompt-ids", required = true, paramLabel = "IDS", split = ",",
            description = "Prompt token ids, comma-separated, e.g. 0,5,9 (start with the model's bos id).")
    String[] promptIds;

    int[] promptIds() {
        return Arrays.stream(promptIds).map(String::strip).mapToInt(id -> {
            try {
                return Integer.parseInt(id);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--prompt-ids: '" + id + "' is not a token id (expected integers like 0,5,9)");
            }
        }).toArray();
    }
}
