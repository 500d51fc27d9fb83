package dev.expertmesh.client;

import java.util.List;
import java.util.Objects;

/** What a generation continues: text, chat messages rendered by the model's chat template, or token ids. */
public sealed interface Prompt {
    /** Text, tokenized by the coordinator with the model's tokenizer. */
    record Text(String text) implements Prompt {
        public Text {
            Objects.requireNonNull(text, "text");
        }
    }

    /** Messages, rendered with the model's chat template and its generation prompt. */
    record Chat(List<ChatMessage> messages) implements Prompt {
        public Chat {
            messages = List.copyOf(messages);
        }
    }

    /** Token ids, used as given. */
    record TokenIds(List<Integer> ids) implements Prompt {
        public TokenIds {
            ids = List.copyOf(ids);
        }
    }
}
