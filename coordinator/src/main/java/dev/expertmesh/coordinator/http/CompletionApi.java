package dev.expertmesh.coordinator.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.expertmesh.coordinator.serving.CompletionInput;
import dev.expertmesh.sampling.TokenLogprob;

import java.util.List;
import java.util.OptionalInt;

/** What tells /v1/completions and /v1/chat/completions apart: the input, and the shape of a choice. */
sealed interface CompletionApi permits TextCompletions, ChatCompletions {

    CompletionInput input(RequestFields body);

    /** The log probabilities asked for: how many alternatives per token, empty for none. */
    OptionalInt logprobs(RequestFields body);

    /** max_tokens when the request gives none. */
    OptionalInt defaultMaxTokens();

    /** The prefix of a response's id (cmpl-, chatcmpl-). */
    String idPrefix();

    /** A whole response's {@code object}. */
    String object();

    /** A streamed chunk's {@code object}. */
    String chunkObject();

    /** The one choice of a whole response; {@code logprobs} is null when not asked for. */
    ObjectNode choice(String text, List<TokenLogprob> logprobs, String finishReason);

    /**
     * The choice of a streamed chunk: {@code text} and its tokens' {@code logprobs} (null when not
     * asked for), and the finish reason on the last (else null). {@code textOffset} is the length, in
     * characters, of the text streamed before this chunk, where its tokens' offsets continue (as
     * vLLM's: a token whose text is still held back starts there too).
     */
    ObjectNode chunkChoice(String text, int textOffset, List<TokenLogprob> logprobs, String finishReason);

    /** The choice of the chunk sent before any token (chat announces the assistant's role), or null for none. */
    ObjectNode openingChoice();
}
