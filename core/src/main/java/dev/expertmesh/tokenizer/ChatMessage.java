package dev.expertmesh.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** One turn of a conversation: role system, user or assistant, and its text. */
public record ChatMessage(String role, String content) {
    private static final Set<String> ROLES = Set.of("system", "user", "assistant");

    public ChatMessage {
        if (!ROLES.contains(role)) {
            throw new IllegalArgumentException("chat role '" + role + "' is not one of system, user, assistant");
        }
        if (content == null) {
            throw new IllegalArgumentException("a " + role + " message needs a 'content' string");
        }
    }

    /** Parses a JSON array of {"role": ..., "content": ...} objects, as OpenAI-style APIs take them. */
    public static List<ChatMessage> parseList(String json) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("chat is not valid JSON: " + e.getOriginalMessage()
                    + " (expected [{\"role\": \"user\", \"content\": \"Hello\"}])");
        }
        if (root == null || !root.isArray() || root.isEmpty()) {
            throw new IllegalArgumentException("chat must be a non-empty JSON array of {\"role\", \"content\"} objects");
        }
        List<ChatMessage> messages = new ArrayList<>();
        for (JsonNode m : root) {
            if (!m.path("role").isTextual() || !m.path("content").isTextual()) {
                throw new IllegalArgumentException("chat message " + m + " needs string fields 'role' and 'content'");
            }
            messages.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
        }
        return List.copyOf(messages);
    }

    /** The message as the chat template sees it. */
    Map<String, Object> asTemplateValue() {
        return Map.of("role", role, "content", content);
    }
}
