package dev.expertmesh.coordinator.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import dev.expertmesh.coordinator.metrics.PrometheusText;
import dev.expertmesh.coordinator.serving.TextGeneration;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The coordinator's OpenAI-compatible HTTP API and its Prometheus metrics, one virtual thread per
 * exchange: /v1/completions, /v1/chat/completions, /v1/models and /metrics.
 */
public final class OpenAiServer implements AutoCloseable {
    private final HttpServer server;
    private final ExecutorService exchanges;

    private OpenAiServer(HttpServer server, ExecutorService exchanges) {
        this.server = server;
        this.exchanges = exchanges;
    }

    /** Listens on {@code host:port} (0: a free port). */
    public static OpenAiServer start(String host, int port, TextGeneration generation, PrometheusText metrics) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 0);
        Map<String, HttpHandler> routes = Map.of(
                "/v1/completions", new CompletionHandler(generation, new TextCompletions(generation)),
                "/v1/chat/completions", new CompletionHandler(generation, new ChatCompletions(generation)),
                "/v1/models", new ModelsHandler(generation),
                "/metrics", new MetricsHandler(metrics));
        // One context for every path, so that a path only starting like a route is not served as it.
        server.createContext("/", exchange -> routes.getOrDefault(exchange.getRequestURI().getPath(), OpenAiServer::notFound).handle(exchange));
        ExecutorService exchanges = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(exchanges);
        server.start();
        return new OpenAiServer(server, exchanges);
    }

    private static void notFound(HttpExchange exchange) throws IOException {
        try (exchange) {
            HttpExchanges.sendError(exchange, ApiError.notFound("there is no " + exchange.getRequestURI().getPath()
                    + " here: the API serves /v1/completions, /v1/chat/completions, /v1/models and /metrics"));
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
