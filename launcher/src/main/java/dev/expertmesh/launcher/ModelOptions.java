package dev.expertmesh.launcher;

import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.demo.DemoModel;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.tokenizer.Tokenizer;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Optional;

/** Which model to run, and where its tokenizer comes from. */
final class ModelOptions {
    @Option(names = "--model", paramLabel = "DIR",
            description = "Hugging Face model directory: config.json and *.safetensors (sharded with "
                    + "model.safetensors.index.json, or one model.safetensors), tokenizer.json optional. "
                    + "'demo' is a built-in model with random weights and DeepSeek-V3's tokenizer: it needs no download "
                    + "and its text is gibberish.")
    String model;

    @Option(names = "--tokenizer", paramLabel = "DIR",
            description = "Take tokenizer.json and tokenizer_config.json from this directory instead of --model's.")
    Path tokenizer;

    Engine openEngine() {
        if (model == null) {
            throw new IllegalArgumentException("--model DIR is required (or 'demo' for the built-in demo model)");
        }
        return model.equals(DemoModel.NAME) ? DemoModel.engine(new CpuBackend()) : Engine.load(Path.of(model), new CpuBackend());
    }

    Optional<Tokenizer> openTokenizer() {
        return openTokenizer(model, tokenizer);
    }

    /** The tokenizer of {@code tokenizerDir} if given, else the model's own if it has one (none without a model). */
    static Optional<Tokenizer> openTokenizer(String model, Path tokenizerDir) {
        if (tokenizerDir != null) {
            return Optional.of(Tokenizer.load(tokenizerDir));
        }
        if (model == null) {
            return Optional.empty();
        }
        if (model.equals(DemoModel.NAME)) {
            return Optional.of(DemoModel.tokenizer());
        }
        return Tokenizer.existsIn(Path.of(model)) ? Optional.of(Tokenizer.load(Path.of(model))) : Optional.empty();
    }
}
