package dev.expertmesh.launcher;

import dev.expertmesh.checkpoint.SafetensorsWriter;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.tokenizer.Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;

@Command(name = "score", mixinStandardHelpOptions = true,
        description = "Runs one forward pass over the prompt and writes the logits at every position "
                + "as a safetensors file with one F32 tensor 'logits' [prompt length, vocab].")
final class ScoreCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @ArgGroup(multiplicity = "1")
    PromptOptions prompt;

    @Option(names = "--output", required = true, paramLabel = "FILE", description = "The .safetensors file to write.")
    Path output;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Path directory = output.toAbsolutePath().getParent();
        if (!Files.isDirectory(directory)) {
            throw new IllegalArgumentException("--output " + output + ": directory " + directory + " does not exist");
        }
        int[] ids;
        Optional<Tokenizer> tokenizer = prompt.isText() ? model.openTokenizer() : Optional.empty();
        try {
            ids = prompt.tokenIds(tokenizer);
        } finally {
            tokenizer.ifPresent(Tokenizer::close);
        }
        try (Engine engine = model.openEngine()) {
            float[] logits = engine.score(ids, LayerObserver.NONE);
            int vocab = engine.config().vocabSize();
            new SafetensorsWriter().addF32("logits", logits, ids.length, vocab).write(output);
            spec.commandLine().getOut().printf("wrote logits [%d, %d] to %s%n", ids.length, vocab, output);
        }
        return 0;
    }
}
