package dev.expertmesh.coordinator.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.expertmesh.coordinator.serving.CompletionInput;
import dev.expertmesh.coordinator.serving.CompletionRequest;
import dev.expertmesh.coordinator.serving.InvalidRequestException;
import dev.expertmesh.coordinator.serving.TextGeneration;
import dev.expertmesh.sampling.TokenLogprob;
import dev.expertmesh.tokenizer.ChatMessage;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/** /v1/chat/completions: messages in, the assistant's message out. */
record ChatCompletions(TextGeneration generation) implements CompletionApi {

    @Override
    public CompletionInput input(RequestFields body) {
        JsonNode messages = body.get("messages");
        if (messages == null || !messages.isArray()) {
            throw new InvalidRequestException("messages", "messages is required: a list of {\"role\", \"content\"} objects");
        }
        List<ChatMessage> out = new ArrayList<>();
        for (JsonNode m : messages) {
            try {
                out.add(new ChatMessage(role(m), content(m)));
            } catch (IllegalArgumentException e) {
                throw new InvalidRequestException("messages", e.getMessage());
            }
        }
        return new CompletionInput.Chat(out);
    }

    /** OpenAI's newer "developer" role is what the chat templates call system. */
    private static String role(JsonNode message) {
        String role = message.path("role").asText("");
        return role.equals("developer") ? "system" : role;
    }

    /** A string, or a list of parts whose text parts are joined; an assistant's null content is empty. */
    private static String content(JsonNode message) {
        JsonNode content = message.path("content");
        if (content.isTextual()) {
            return content.asText();
        }
        if (content.isArray()) {
            StringBuilder text = new StringBuilder();
            for (JsonNode part : content) {
                if (!part.path("type").asText().equals("text") || !part.path("text").isTextual()) {
                    throw new InvalidRequestException("messages", "only text content parts are supported, got " + part);
                }
                text.append(part.get("text").asText());
            }
            return text.toString();
        }
        return (content.isNull() || content.isMissingNode()) && role(message).equals("assistant") ? "" : null;
    }

    @Override
    public OptionalInt logprobs(RequestFields body) {
        OptionalInt top = body.integer("top_logprobs");
        if (top.isPresent() && (top.getAsInt() < 0 || top.getAsInt() > CompletionRequest.MAX_LOGPROBS)) {
            throw new InvalidRequestException("top_logprobs", "top_logprobs must be between 0 and " + CompletionRequest.MAX_LOGPROBS
                    + ", got " + top.getAsInt());
        }
        if (body.bool("logprobs")) {
            return OptionalInt.of(top.orElse(0));
        }
        if (top.isPresent()) {
            throw new InvalidRequestException("top_logprobs", "top_logprobs needs logprobs set to true");
        }
        return OptionalInt.empty();
    }

    @Override
    public OptionalInt defaultMaxTokens() {
        return OptionalInt.empty();
    }

    @Override
    public String idPrefix() {
        return "chatcmpl-";
    }

    @Override
    public String object() {
        return "chat.completion";
    }

    @Override
    public String chunkObject() {
        return "chat.completion.chunk";
    }

    @Override
    public ObjectNode choice(String text, List<TokenLogprob> logprobs, String finishReason) {
        ObjectNode message = HttpExchanges.JSON.createObjectNode();
        message.put("role", "assistant");
        message.put("content", text);
        return choice("message", message, logprobs, finishReason);
    }

    @Override
    public ObjectNode chunkChoice(String text, int textOffset, List<TokenLogprob> logprobs, String finishReason) {
        ObjectNode delta = HttpExchanges.JSON.createObjectNode();
        if (finishReason == null) {
            delta.put("content", text);
        }
        return choice("delta", delta, logprobs, finishReason);
    }

    @Override
    public ObjectNode openingChoice() {
        ObjectNode delta = HttpExchanges.JSON.createObjectNode();
        delta.put("role", "assistant");
        delta.put("content", "");
        return choice("delta", delta, null, null);
    }

    private ObjectNode choice(String field, ObjectNode message, List<TokenLogprob> logprobs, String finishReason) {
        ObjectNode choice = HttpExchanges.JSON.createObjectNode();
        choice.put("index", 0);
        choice.set(field, message);
        choice.set("logprobs", logprobs == null ? null : logprobsJson(logprobs));
        choice.put("finish_reason", finishReason);
        return choice;
    }

    private ObjectNode logprobsJson(List<TokenLogprob> logprobs) {
        ObjectNode out = HttpExchanges.JSON.createObjectNode();
        ArrayNode content = out.putArray("content");
        for (TokenLogprob lp : logprobs) {
            ObjectNode entry = token(content.addObject(), lp.tokenId(), lp.logprob());
            ArrayNode top = entry.putArray("top_logprobs");
            lp.top().forEach(a -> token(top.addObject(), a.tokenId(), a.logprob()));
        }
        return out;
    }

    private ObjectNode token(ObjectNode node, int tokenId, float logprob) {
        node.put("token", generation.tokenText(tokenId));
        node.put("logprob", logprob);
        ArrayNode bytes = node.putArray("bytes");
        for (byte b : generation.tokenBytes(tokenId)) {
            bytes.add(b & 0xff);
        }
        return node;
    }
}
