package dev.expertmesh.coordinator.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import dev.expertmesh.coordinator.metrics.PrometheusText;
import dev.expertmesh.coordinator.serving.TextGeneration;
import dev.expertmesh.proto.ClusterStatus;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The coordinator's OpenAI-compatible HTTP API, its Prometheus metrics and its expert-load page, one
 * virtual thread per exchange: /v1/completions, /v1/chat/completions, /v1/models, /metrics, /experts
 * and /experts/load.json.
 */
public final class OpenAiServer implements AutoCloseable {
    private final HttpServer server;
    private final ExecutorService exchanges;

    private OpenAiServer(HttpServer server, ExecutorService exchanges) {
        this.server = server;
        this.exchanges = exchanges;
    }

    /** Listens on {@code host:port} (0: a free port); {@code status}: the cluster's, with the routing window's load. */
    public static OpenAiServer start(String host, int port, TextGeneration generation, PrometheusText metrics,
                                     Supplier<ClusterStatus> status) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 0);
        Map<String, Route> routes = Map.of(
                "/v1/completions", new Route("POST", new CompletionHandler(generation, new TextCompletions(generation))),
                "/v1/chat/completions", new Route("POST", new CompletionHandler(generation, new ChatCompletions(generation))),
                "/v1/models", new Route("GET", new ModelsHandler(generation)),
                "/metrics", new Route("GET", exchange -> HttpExchanges.sendText(exchange, 200, PrometheusText.CONTENT_TYPE, metrics.render())),
                "/experts", new Route("GET", new ExpertLoadPage()),
                "/experts/load.json", new Route("GET", new ExpertLoadJson(status)));
        // One context for every path, so that a path only starting like a route is not served as it.
        server.createContext("/", exchange -> route(routes, exchange));
        ExecutorService exchanges = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(exchanges);
        server.start();
        return new OpenAiServer(server, exchanges);
    }

    /** A path's handler and the one method it answers. */
    private record Route(String method, HttpHandler handler) {
    }

    private static void route(Map<String, Route> routes, HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            Route route = routes.get(path);
            if (route == null) {
                HttpExchanges.sendError(exchange, ApiError.notFound("there is no " + path
                        + " here: the API serves /v1/completions, /v1/chat/completions, /v1/models, /metrics and /experts"));
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
