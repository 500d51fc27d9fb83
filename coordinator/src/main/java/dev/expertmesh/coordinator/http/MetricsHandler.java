package dev.expertmesh.coordinator.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.expertmesh.coordinator.metrics.PrometheusText;

import java.io.IOException;

/** GET /metrics: the coordinator's metrics for Prometheus to scrape. */
final class MetricsHandler implements HttpHandler {
    private final PrometheusText metrics;

    MetricsHandler(PrometheusText metrics) {
        this.metrics = metrics;
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!exchange.getRequestMethod().equals("GET")) {
                HttpExchanges.sendError(exchange, ApiError.methodNotAllowed(exchange.getRequestMethod(), exchange.getRequestURI().getPath()));
                return;
            }
            HttpExchanges.sendText(exchange, 200, PrometheusText.CONTENT_TYPE, metrics.render());
        }
    }
}
