package dev.expertmesh.coordinator.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import dev.expertmesh.coordinator.access.ApiKeys;
import dev.expertmesh.coordinator.metrics.PrometheusText;
import dev.expertmesh.coordinator.serving.Readiness;
import dev.expertmesh.coordinator.serving.TextGeneration;
import dev.expertmesh.proto.ClusterStatus;
import dev.expertmesh.release.Release;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The coordinator's OpenAI-compatible HTTP API, its Prometheus metrics, its expert-load page and
 * vLLM's probes, one virtual thread per exchange: /v1/completions, /v1/chat/completions, /v1/models,
 * /metrics, /experts, /experts/load.json, /health, /ping and /version. With API keys, every /v1 path
 * needs one; the rest stay open, as in vLLM, for probes and scrapers.
 */
public final class OpenAiServer implements AutoCloseable {
    private final HttpServer server;
    private final ExecutorService exchanges;

    private OpenAiServer(HttpServer server, ExecutorService exchanges) {
        this.server = server;
        this.exchanges = exchanges;
    }

    /**
     * Listens on {@code host:port} (0: a free port); {@code status}: the cluster's, with the routing
     * window's load; {@code readiness}: what /health reports; {@code apiKeys}: those the /v1 paths
     * require, none for open ones.
     */
    public static OpenAiServer start(String host, int port, TextGeneration generation, PrometheusText metrics,
                                     Supplier<ClusterStatus> status, Supplier<Readiness> readiness, Optional<ApiKeys> apiKeys) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 0);
        Map<String, Route> routes = Map.of(
                "/v1/completions", new Route("POST", new CompletionHandler(generation, new TextCompletions(generation))),
                "/v1/chat/completions", new Route("POST", new CompletionHandler(generation, new ChatCompletions(generation))),
                "/v1/models", new Route("GET", new ModelsHandler(generation)),
                "/metrics", new Route("GET", exchange -> HttpExchanges.sendText(exchange, 200, PrometheusText.CONTENT_TYPE, metrics.render())),
                "/experts", new Route("GET", new ExpertLoadPage()),
                "/experts/load.json", new Route("GET", new ExpertLoadJson(status)),
                "/health", new Route("GET", new HealthHandler(readiness)),
                // Liveness, unlike vLLM's /ping (its /health): the process answers, whatever the cluster lacks.
                "/ping", new Route("GET", exchange -> HttpExchanges.sendJson(exchange, 200,
                        HttpExchanges.JSON.createObjectNode().put("status", "alive"))),
                "/version", new Route("GET", exchange -> HttpExchanges.sendJson(exchange, 200,
                        HttpExchanges.JSON.createObjectNode().put("version", Release.version()))));
        // One context for every path, so that a path only starting like a route is not served as it.
        server.createContext("/", exchange -> route(routes, apiKeys, exchange));
        ExecutorService exchanges = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(exchanges);
        server.start();
        return new OpenAiServer(server, exchanges);
    }

    /** A path's handler and the one method it answers. */
    private record Route(String method, HttpHandler handler) {
    }

    private static void route(Map<String, Route> routes, Optional<ApiKeys> apiKeys, HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            Route route = routes.get(path);
            if (path.startsWith("/v1/") && apiKeys.isPresent()
                    && !apiKeys.get().admits(exchange.getRequestHeaders().getFirst("Authorization"), exchange.getRemoteAddress())) {
                exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer");
                HttpExchanges.sendError(exchange, ApiError.invalidApiKey());
            } else if (route == null) {
                HttpExchanges.sendError(exchange, ApiError.notFound("there is no " + path + " here: the API serves /v1/completions, "
                        + "/v1/chat/completions, /v1/models, /metrics, /experts, /health, /ping and /version"));
            } else if (!route.method().equals(exchange.getRequestMethod())) {
                exchange.getResponseHeaders().set("Allow", route.method());
                HttpExchanges.sendError(exchange, ApiError.methodNotAllowed(exchange.getRequestMethod(), path));
            } else {
                route.handler().handle(exchange);
            }
        }
    }

    /** The port listened on (the one asked for, or the free one taken for 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    /** Stops listening and ends the requests in flight (streams are cut, their generations cancelled). */
    @Override
    public void close() {
        server.stop(0);
        exchanges.shutdownNow();
        try {
            exchanges.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
