package dev.expertmesh.coordinator.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.expertmesh.coordinator.serving.CompletionInput;
import dev.expertmesh.coordinator.serving.InvalidRequestException;
import dev.expertmesh.coordinator.serving.TextGeneration;
import dev.expertmesh.sampling.TokenLogprob;

import java.util.List;
import java.util.OptionalInt;

/** /v1/completions: a prompt in, text out. */
record TextCompletions(TextGeneration generation) implements CompletionApi {
    /** OpenAI's and vLLM's max_tokens for completions. */
    private static final int DEFAULT_MAX_TOKENS = 16;

    /** A string, a list of one string, token ids, or a list of one list of token ids. */
    @Override
    public CompletionInput input(RequestFields body) {
        JsonNode prompt = body.get("prompt");
        if (prompt == null) {
            throw new InvalidRequestException("prompt", "prompt is required: a string or a list of token ids");
        }
        if (prompt.isArray() && prompt.size() == 1 && (prompt.get(0).isTextual() || prompt.get(0).isArray())) {
            prompt = prompt.get(0);
        } else if (prompt.isArray() && !prompt.isEmpty() && !prompt.get(0).isIntegralNumber()) {
            throw new InvalidRequestException("prompt", "prompt must hold one prompt: this server makes one choice per request");
        }
        if (prompt.isTextual()) {
            return new CompletionInput.Text(prompt.asText());
        }
        if (prompt.isArray()) {
            return new CompletionInput.Ids(RequestFields.integers("prompt", prompt).stream().mapToInt(Integer::intValue).toArray());
        }
        throw RequestFields.wrongType("prompt", "a string or a list of token ids");
    }

    @Override
    public OptionalInt logprobs(RequestFields body) {
        return body.integer("logprobs");
    }

    @Override
    public OptionalInt defaultMaxTokens() {
        return OptionalInt.of(DEFAULT_MAX_TOKENS);
    }

    @Override
    public String idPrefix() {
        return "cmpl-";
    }

    @Override
    public String object() {
        return "text_completion";
    }

    @Override
    public String chunkObject() {
        return "text_completion";
    }

    @Override
    public ObjectNode choice(String text, List<TokenLogprob> logprobs, String finishReason) {
        return chunkChoice(text, 0, logprobs, finishReason);
    }

    @Override
    public ObjectNode chunkChoice(String text, int textOffset, List<TokenLogprob> logprobs, String finishReason) {
        ObjectNode choice = HttpExchanges.JSON.createObjectNode();
        choice.put("index", 0);
        choice.put("text", text);
        choice.set("logprobs", logprobs == null ? null : logprobsJson(logprobs, textOffset));
        choice.put("finish_reason", finishReason);
        return choice;
    }

    @Override
    public ObjectNode openingChoice() {
        return null;
    }

    /**
     * The legacy completions shape: parallel lists of tokens, their log probabilities, their
     * alternatives, and where each token's text starts in the completion's text. As vLLM's, an offset
     * is the one before it plus that token's text length, in characters (Python's, code points).
     */
    private ObjectNode logprobsJson(List<TokenLogprob> logprobs, int textOffset) {
        ObjectNode out = HttpExchanges.JSON.createObjectNode();
        ArrayNode tokens = out.putArray("tokens");
        ArrayNode tokenLogprobs = out.putArray("token_logprobs");
        ArrayNode top = out.putArray("top_logprobs");
        ArrayNode textOffsets = out.putArray("text_offset");
        int offset = textOffset;
        for (TokenLogprob lp : logprobs) {
            String token = generation.tokenText(lp.tokenId());
            tokens.add(token);
            textOffsets.add(offset);
            offset += token.codePointCount(0, token.length());
            tokenLogprobs.add(lp.logprob());
            ObjectNode alternatives = top.addObject();
            // Tokens may share a text (byte pieces of one character): the likeliest, first, keeps it.
            lp.top().forEach(a -> {
                String text = generation.tokenText(a.tokenId());
                if (!alternatives.has(text)) {
                    alternatives.put(text, a.logprob());
                }
            });
        }
        return out;
    }
}
