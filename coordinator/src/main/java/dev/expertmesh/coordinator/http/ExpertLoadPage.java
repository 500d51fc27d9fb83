package dev.expertmesh.coordinator.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * GET /experts: the live expert-load page, one self-contained HTML file (its CSS and script inline)
 * that polls {@link ExpertLoadJson}'s endpoint and draws a layer × expert heatmap and each worker's load.
 */
final class ExpertLoadPage implements HttpHandler {
    private static final String RESOURCE = "expert-load.html";
    private final String html;

    ExpertLoadPage() {
        try (InputStream in = ExpertLoadPage.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is missing from the coordinator's jar");
            }
            html = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        HttpExchanges.sendText(exchange, 200, "text/html; charset=utf-8", html);
    }
}
