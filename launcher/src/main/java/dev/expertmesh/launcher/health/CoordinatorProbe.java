package dev.expertmesh.launcher.health;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;

/** A coordinator's health: GET /health on its HTTP port, 200 only while the cluster can serve. */
public final class CoordinatorProbe {
    private static final ObjectMapper JSON = new ObjectMapper();

    private CoordinatorProbe() {
    }

    public static HealthCheck check(String host, int httpPort, Duration timeout) throws InterruptedException {
        String where = host + ":" + httpPort;
        URI uri = URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + httpPort + "/health");
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(timeout).build()) {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(uri).timeout(timeout).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            return switch (response.statusCode()) {
                case 200 -> HealthCheck.serving("serving: coordinator at " + where + ", " + json(response).path("detail").asText());
                case 503 -> HealthCheck.failing("not serving: coordinator at " + where + ": "
                        + json(response).path("error").path("message").asText("no reason given"));
                default -> notAHealthEndpoint(where, "HTTP " + response.statusCode());
            };
        } catch (JsonProcessingException e) {
            return notAHealthEndpoint(where, "something other than JSON");
        } catch (HttpConnectTimeoutException e) {
            return HealthCheck.failing("could not connect to " + where + " within " + timeout.toMillis() + " ms");
        } catch (HttpTimeoutException e) {
            return HealthCheck.failing("coordinator at " + where + " did not answer /health within " + timeout.toMillis() + " ms");
        } catch (ConnectException e) {
            return HealthCheck.failing("nothing listens on " + where + " (is the coordinator running, and " + httpPort + " its http-port?)");
        } catch (IOException e) {
            // The message can quote the bytes a non-HTTP server sent, such as a gRPC port's.
            return notAHealthEndpoint(where, "no HTTP answer");
        }
    }

    private static JsonNode json(HttpResponse<String> response) throws JsonProcessingException {
        return JSON.readTree(response.body());
    }

    private static HealthCheck notAHealthEndpoint(String where, String answer) {
        return HealthCheck.failing(where + " gave " + answer + " for /health: is it a coordinator's http-port?");
    }
}
