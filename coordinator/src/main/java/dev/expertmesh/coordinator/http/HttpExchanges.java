package dev.expertmesh.coordinator.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** Reading JSON bodies from, and writing whole responses to, an HTTP exchange. */
final class HttpExchanges {
    /** Strict about what follows a body's JSON value: {"a": 1} xyz is not a JSON object. */
    static final ObjectMapper JSON = JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();
    static final String JSON_TYPE = "application/json";

    private HttpExchanges() {
    }

    /** The request body as a JSON object; a body that is not one is a bad request. */
    static RequestFields body(HttpExchange exchange) throws IOException {
        JsonNode body;
        try (InputStream in = exchange.getRequestBody()) {
            body = JSON.readTree(in);
        } catch (JsonProcessingException e) {
            throw new ApiException(ApiError.badRequest("the request body is not valid JSON: " + e.getOriginalMessage(), null));
        }
        if (body == null || !body.isObject()) {
            throw new ApiException(ApiError.badRequest("the request body must be a JSON object", null));
        }
        return new RequestFields(body);
    }

    static void sendJson(HttpExchange exchange, int status, JsonNode body) throws IOException {
        send(exchange, status, JSON_TYPE, JSON.writeValueAsBytes(body));
    }

    static void sendText(HttpExchange exchange, int status, String contentType, String body) throws IOException {
        send(exchange, status, contentType, body.getBytes(StandardCharsets.UTF_8));
    }

    static void sendError(HttpExchange exchange, ApiError error) throws IOException {
        sendJson(exchange, error.status(), error.toJson());
    }

    private static void send(HttpExchange exchange, int status, String contentType, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }
}
