package dev.expertmesh.launcher;

import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.demo.DemoModel;
import dev.expertmesh.model.ModelConfig;

import java.nio.file.Path;

/** A model's config and weights, from a checkpoint directory or the built-in demo. */
record ModelSource(ModelConfig config, TensorSource weights) implements AutoCloseable {

    static ModelSource open(String model) {
        if (DemoModel.isDemo(model)) {
            return new ModelSource(DemoModel.config(), DemoModel.weights(model));
        }
        Path dir = Path.of(model);
        ModelConfig config = ModelConfig.load(dir);
        return new ModelSource(config, Checkpoint.open(dir));
    }

    @Override
    public void close() {
        weights.close();
    }
}
