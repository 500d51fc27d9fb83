package dev.expertmesh.coordinator.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.expertmesh.coordinator.serving.Readiness;

import java.io.IOException;
import java.util.function.Supplier;

/**
 * GET /health, the readiness probe: 200 only while the cluster can run a step, else 503 with the
 * reason a completion would be refused with, as an OpenAI error.
 */
final class HealthHandler implements HttpHandler {
    private final Supplier<Readiness> readiness;

    HealthHandler(Supplier<Readiness> readiness) {
        this.readiness = readiness;
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        Readiness now = readiness.get();
        if (!now.serving()) {
            HttpExchanges.sendError(exchange, ApiError.notReady(now.refusal()));
            return;
        }
        ObjectNode body = HttpExchanges.JSON.createObjectNode();
        body.put("status", "serving");
        body.put("detail", now.detail());
        HttpExchanges.sendJson(exchange, 200, body);
    }
}
