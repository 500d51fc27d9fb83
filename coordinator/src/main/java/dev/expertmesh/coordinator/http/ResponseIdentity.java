package dev.expertmesh.coordinator.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.expertmesh.coordinator.serving.Completion;

import java.time.Instant;
import java.util.UUID;

/** What every response object and chunk of one request repeats: its id, creation time and model. */
record ResponseIdentity(String id, long created, String model) {

    static ResponseIdentity next(String idPrefix, String model) {
        return new ResponseIdentity(idPrefix + UUID.randomUUID().toString().replace("-", ""), Instant.now().getEpochSecond(), model);
    }

    /** A response object of type {@code object}, before its choices. */
    ObjectNode start(String object) {
        ObjectNode node = HttpExchanges.JSON.createObjectNode();
        node.put("id", id);
        node.put("object", object);
        node.put("created", created);
        node.put("model", model);
        return node;
    }

    static ObjectNode usage(Completion completion) {
        ObjectNode usage = HttpExchanges.JSON.createObjectNode();
        usage.put("prompt_tokens", completion.promptTokens());
        usage.put("completion_tokens", completion.completionTokens());
        usage.put("total_tokens", completion.promptTokens() + completion.completionTokens());
        return usage;
    }
}
