package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.tokenizer.ChatMessage;
import dev.expertmesh.tokenizer.Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Prints the token ids of a text, or of a conversation rendered with the chat template.")
final class TokenizeCommand implements Callable<Integer> {
    static final class Source {
        @Option(names = "--model", paramLabel = "DIR", description = "A model directory with tokenizer.json, or 'demo'.")
        String model;

        @Option(names = "--tokenizer", paramLabel = "DIR", description = "A directory with tokenizer.json (and tokenizer_config.json).")
        Path tokenizer;
    }

    static final class Input {
        @Option(names = "--text", paramLabel = "S", description = "The text to encode (no bos is added).")
        String text;

        @Option(names = "--chat", paramLabel = "JSON", description = "A JSON array of {\"role\", \"content\"} messages.")
        String chat;
    }

    @ArgGroup(multiplicity = "1")
    Source source;

    @ArgGroup(multiplicity = "1")
    Input input;

    @Option(names = "--format", defaultValue = "text", paramLabel = "FORMAT",
            description = "text (comma-separated ids, ready for --prompt-ids) or json (one line). Default: ${DEFAULT-VALUE}.")
    Output.Format format;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        try (Tokenizer tokenizer = ModelOptions.openTokenizer(source.model, source.tokenizer).orElseThrow(() ->
                new IllegalArgumentException(source.model + " has no " + Tokenizer.FILE + "; give --tokenizer DIR"))) {
            int[] ids = input.text != null ? tokenizer.encode(input.text) : tokenizer.encodeChat(ChatMessage.parseList(input.chat));
            spec.commandLine().getOut().println(format == Output.Format.json
                    ? new ObjectMapper().writeValueAsString(Map.of("token_ids", ids))
                    : Output.commaSeparated(ids));
        }
        return 0;
    }
}
