package dev.expertmesh.launcher;

import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.SafetensorsWriter;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.LayerObserver;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "score", mixinStandardHelpOptions = true,
        description = "Runs one forward pass over the prompt and writes the logits at every position "
                + "as a safetensors file with one F32 tensor 'logits' [prompt length, vocab].")
final class ScoreCommand implements Callable<Integer> {
    @Mixin
    ModelOptions options;

    @Option(names = "--output", required = true, paramLabel = "FILE", description = "The .safetensors file to write.")
    Path output;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        int[] ids = options.promptIds();
        try (Engine engine = Engine.load(options.model, new CpuBackend())) {
            float[] logits = engine.score(ids, LayerObserver.NONE);
            int vocab = engine.config().vocabSize();
            new SafetensorsWriter().addF32("logits", logits, ids.length, vocab).write(output);
            spec.commandLine().getOut().printf("wrote logits [%d, %d] to %s%n", ids.length, vocab, output);
        }
        return 0;
    }
}
