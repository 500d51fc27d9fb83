package dev.expertmesh.launcher;

import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.tokenizer.Tokenizer;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Optional;

/** Which model to run, and where its tokenizer comes from. */
final class ModelOptions {
    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Hugging Face model directory: config.json and *.safetensors (sharded with "
                    + "model.safetensors.index.json, or one model.safetensors), tokenizer.json optional.")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "DIR",
            description = "Take tokenizer.json and tokenizer_config.json from this directory instead of --model's.")
    Path tokenizer;

    Engine openEngine() {
        return Engine.load(model, new CpuBackend());
    }

    /** The tokenizer of --tokenizer, else of the model directory if it has one. */
    Optional<Tokenizer> openTokenizer() {
        if (tokenizer != null) {
            return Optional.of(Tokenizer.load(tokenizer));
        }
        return Tokenizer.existsIn(model) ? Optional.of(Tokenizer.load(model)) : Optional.empty();
    }
}
