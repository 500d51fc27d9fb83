package dev.expertmesh.coordinator.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.expertmesh.coordinator.serving.InvalidRequestException;
import dev.expertmesh.coordinator.serving.UnknownModelException;
import dev.expertmesh.engine.QueueFullException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An error as OpenAI reports it: an HTTP status and {@code {"error": {"message", "type", "param", "code"}}}.
 *
 * @param param the request field at fault, or null
 * @param code  a machine-readable reason, or null
 */
record ApiError(int status, String type, String message, String param, String code) {
    private static final Logger log = LoggerFactory.getLogger(ApiError.class);
    private static final String INVALID_REQUEST = "invalid_request_error";
    private static final String SERVER_ERROR = "server_error";

    static ApiError badRequest(String message, String param) {
        return new ApiError(400, INVALID_REQUEST, message, param, null);
    }

    static ApiError notFound(String message) {
        return new ApiError(404, INVALID_REQUEST, message, null, null);
    }

    /** OpenAI's answer to a request without a valid key; what was sent is never repeated. */
    static ApiError invalidApiKey() {
        return new ApiError(401, INVALID_REQUEST, "a valid API key is required: send the header 'Authorization: Bearer KEY' "
                + "with a key of the coordinator's api-key-file", null, "invalid_api_key");
    }

    /** What a request gets while the cluster cannot serve it: the reason, as /health gives it. */
    static ApiError notReady(String message) {
        return new ApiError(503, SERVER_ERROR, message, null, "service_unavailable");
    }

    static ApiError methodNotAllowed(String method, String path) {
        return new ApiError(405, INVALID_REQUEST, method + " is not supported on " + path, null, "method_not_allowed");
    }

    /** The error a failed request gets: what the client can fix is 4xx, an unready or failing cluster 5xx. */
    static ApiError of(RuntimeException e) {
        return switch (e) {
            case ApiException api -> api.error();
            case UnknownModelException unknown -> new ApiError(404, INVALID_REQUEST, unknown.getMessage(), "model", "model_not_found");
            case InvalidRequestException invalid -> badRequest(invalid.getMessage(), invalid.field());
            case QueueFullException full -> new ApiError(429, INVALID_REQUEST, full.getMessage(), null, "rate_limit_exceeded");
            case IllegalStateException notReady -> notReady(notReady.getMessage());
            default -> {
                log.warn("Request failed", e);
                yield new ApiError(500, SERVER_ERROR, String.valueOf(e.getMessage()), null, null);
            }
        };
    }

    ObjectNode toJson() {
        ObjectNode root = HttpExchanges.JSON.createObjectNode();
        ObjectNode error = root.putObject("error");
        error.put("message", message);
        error.put("type", type);
        error.put("param", param);
        error.put("code", code);
        return root;
    }
}
