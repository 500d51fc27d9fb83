package dev.expertmesh.launcher;

import dev.expertmesh.tokenizer.ChatMessage;
import dev.expertmesh.tokenizer.Tokenizer;
import picocli.CommandLine.Option;

import java.util.Arrays;
import java.util.Optional;

/** The prompt, given as token ids, as text, or as a conversation for the chat template. */
final class PromptOptions {
    @Option(names = "--prompt-ids", paramLabel = "IDS", split = ",",
            description = "Prompt token ids, comma-separated, e.g. 0,5,9 (start with the model's bos id).")
    String[] promptIds;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "Prompt text, encoded as it is (no bos is added).")
    String prompt;

    @Option(names = "--chat", paramLabel = "JSON",
            description = "A conversation rendered with the model's chat template, e.g. '[{\"role\": \"user\", \"content\": \"Hello\"}]'.")
    String chat;

    boolean isText() {
        return promptIds == null;
    }

    int[] tokenIds(Optional<Tokenizer> tokenizer) {
        if (promptIds != null) {
            return Arrays.stream(promptIds).map(String::strip).mapToInt(PromptOptions::parseId).toArray();
        }
        Tokenizer t = tokenizer.orElseThrow(() -> new IllegalArgumentException(
                (prompt != null ? "--prompt" : "--chat") + " needs a tokenizer: the model directory has no "
                        + Tokenizer.FILE + "; give --tokenizer DIR, or the prompt as --prompt-ids"));
        return prompt != null ? t.encode(prompt) : t.encodeChat(ChatMessage.parseList(chat));
    }

    private static int parseId(String id) {
        try {
            return Integer.parseInt(id);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--prompt-ids: '" + id + "' is not a token id (expected integers like 0,5,9)");
        }
    }
}
