package dev.expertmesh.coordinator.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.expertmesh.coordinator.serving.ServedModel;
import dev.expertmesh.coordinator.serving.TextGeneration;

import java.io.IOException;

/** GET /v1/models: the one model served, as OpenAI lists models (with vLLM's max_model_len). */
final class ModelsHandler implements HttpHandler {
    private final TextGeneration generation;

    ModelsHandler(TextGeneration generation) {
        this.generation = generation;
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        ServedModel served = generation.model();
        ObjectNode list = HttpExchanges.JSON.createObjectNode();
        list.put("object", "list");
        ObjectNode model = list.putArray("data").addObject();
        model.put("id", served.name());
        model.put("object", "model");
        model.put("created", served.createdSeconds());
        model.put("owned_by", "expertmesh");
        model.put("max_model_len", served.maxModelLen());
        HttpExchanges.sendJson(exchange, 200, list);
    }
}
