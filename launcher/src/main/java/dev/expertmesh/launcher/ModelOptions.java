package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.node.MissingNode;
import dev.expertmesh.cuda.device.Device;
import dev.expertmesh.cuda.stage.DeviceStages;
import dev.expertmesh.demo.DemoModel;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.quantization.QuantizationPlan;
import dev.expertmesh.tokenizer.Tokenizer;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Optional;

/** Which model to run, and where its tokenizer comes from. */
final class ModelOptions {
    @Option(names = "--model", paramLabel = "DIR",
            description = "Hugging Face model directory: config.json and *.safetensors (sharded with "
                    + "model.safetensors.index.json, or one model.safetensors), tokenizer.json optional. "
                    + "'demo' is a built-in model with random weights and DeepSeek-V3's tokenizer: it needs no download "
                    + "and its text is gibberish; 'demo-skewed' is the same with routers that prefer a few experts per layer "
                    + "(a workload for load balancing).")
    String model;

    @Option(names = "--tokenizer", paramLabel = "DIR",
            description = "Take tokenizer.json and tokenizer_config.json from this directory instead of --model's.")
    Path tokenizer;

    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "cpu",
            description = "Where the model runs: cpu, cuda (= cuda:0), cuda:N, or auto (cuda:0 when there is a GPU, else cpu). "
                    + "Default: ${DEFAULT-VALUE}.")
    String device;

    @Mixin
    QuantizeOptions quantize;

    Engine openEngine() {
        QuantizationPlan plan = quantize.plan(MissingNode.getInstance());
        if (model == null) {
            throw new IllegalArgumentException("--model DIR is required (or 'demo' for the built-in demo model)");
        }
        Device on = Device.select(device);
        ModelSource source = ModelSource.open(model);
        return DeviceStages.engine(on, source.config(), source.weights(),
                DemoModel.isDemo(model) ? DemoModel.ORIGIN : model + " (memory-mapped: weights page in on first use)", plan);
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
        if (DemoModel.isDemo(model)) {
            return Optional.of(DemoModel.tokenizer());
        }
        return Tokenizer.existsIn(Path.of(model)) ? Optional.of(Tokenizer.load(Path.of(model))) : Optional.empty();
    }
}
