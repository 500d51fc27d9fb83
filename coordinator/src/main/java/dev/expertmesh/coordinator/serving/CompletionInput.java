package dev.expertmesh.coordinator.serving;

import dev.expertmesh.tokenizer.ChatMessage;

import java.util.List;

/** What a request asks to continue: text, a conversation, or token ids. */
public sealed interface CompletionInput {

    /** Text, tokenized with the served model's tokenizer. */
    record Text(String prompt) implements CompletionInput {
    }

    /** A conversation rendered by the model's chat template, ready for the assistant's reply. */
    record Chat(List<ChatMessage> messages) implements CompletionInput {
        public Chat {
            messages = List.copyOf(messages);
        }
    }

    /** Token ids, used as given. */
    record Ids(int[] ids) implements CompletionInput {
    }
}
