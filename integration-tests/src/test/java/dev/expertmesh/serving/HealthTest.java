package dev.expertmesh.serving;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.proto.InferenceGrpc;
import dev.expertmesh.release.Release;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The coordinator's readiness over real sockets, as probes see it: /health and the gRPC health
 * service say NOT_SERVING, with the reason a completion is refused with, until the workers are
 * placed; SERVING once they are; NOT_SERVING again once the cluster loses its attention worker.
 * /ping and /version answer throughout.
 */
class HealthTest {
    private static final String MODEL = "tiny-v2-lite";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration CHANGE_TIMEOUT = Duration.ofSeconds(30);

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private LoopbackCluster cluster;
    private ManagedChannel channel;

    @AfterEach
    void stop() throws Exception {
        http.close();
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void notServingUntilTheWorkersArePlacedThenServingUntilTheAttentionWorkerLeaves() throws Exception {
        cluster = LoopbackCluster.withoutWorkers(MODEL, Optional.empty());
        channel = ManagedChannelBuilder.forAddress(LoopbackCluster.HOST, cluster.coordinator().port()).usePlaintext().build();

        HttpResponse<String> unready = get("/health");
        assertThat(unready.statusCode()).isEqualTo(503);
        JsonNode error = JSON.readTree(unready.body()).get("error");
        assertThat(error.get("message").asText()).isEqualTo("the cluster is not ready: no expert worker has joined yet");
        assertThat(error.get("type").asText()).isEqualTo("server_error");
        assertThat(error.get("code").asText()).isEqualTo("service_unavailable");
        HttpResponse<String> refused = post("/v1/completions", "{\"model\": \"" + MODEL + "\", \"prompt\": [1, 2, 3], \"max_tokens\": 2}");
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(JSON.readTree(refused.body()).get("error").get("message").asText()).as("a completion is refused with /health's reason")
                .isEqualTo(error.get("message").asText());
        assertThat(grpcHealth("")).isEqualTo(ServingStatus.NOT_SERVING);
        assertThat(grpcHealth(InferenceGrpc.SERVICE_NAME)).isEqualTo(ServingStatus.NOT_SERVING);
        assertAlive();

        cluster.joinWorkers();
        HttpResponse<String> ready = get("/health");
        assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);
        JsonNode serving = JSON.readTree(ready.body());
        assertThat(serving.get("status").asText()).isEqualTo("serving");
        assertThat(serving.get("detail").asText()).matches("shard map epoch \\d+ on 2 expert workers and 1 attention worker");
        awaitGrpcHealth(ServingStatus.SERVING);
        assertThat(grpcHealth(InferenceGrpc.SERVICE_NAME)).isEqualTo(ServingStatus.SERVING);
        assertAlive();

        cluster.stopAttentionWorker();
        HttpResponse<String> lost = awaitHealth(r -> r.statusCode() == 503);
        assertThat(JSON.readTree(lost.body()).get("error").get("message").asText())
                .isEqualTo("the cluster is not ready: no attention worker is left");
        awaitGrpcHealth(ServingStatus.NOT_SERVING);
        assertAlive();
    }

    /** /ping says the process answers, whatever the cluster lacks; /version gives the release's version. */
    private void assertAlive() throws Exception {
        HttpResponse<String> ping = get("/ping");
        assertThat(ping.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(ping.body()).get("status").asText()).isEqualTo("alive");
        HttpResponse<String> version = get("/version");
        assertThat(version.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(version.body()).get("version").asText()).isEqualTo(Release.version()).matches("\\d+\\.\\d+\\.\\d+");
    }

    private ServingStatus grpcHealth(String service) {
        return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                .check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
    }

    /** The gRPC health service is brought up to date every 200 ms, so the change shows within a few polls. */
    private void awaitGrpcHealth(ServingStatus expected) throws InterruptedException {
        long deadline = System.nanoTime() + CHANGE_TIMEOUT.toNanos();
        while (grpcHealth("") != expected && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(grpcHealth("")).isEqualTo(expected);
    }

    private HttpResponse<String> awaitHealth(Predicate<HttpResponse<String>> condition) throws Exception {
        long deadline = System.nanoTime() + CHANGE_TIMEOUT.toNanos();
        HttpResponse<String> response = get("/health");
        while (!condition.test(response) && System.nanoTime() < deadline) {
            Thread.sleep(50);
            response = get("/health");
        }
        assertThat(condition).as(response.body()).accepts(response);
        return response;
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(root() + path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(root() + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private String root() {
        return "http://" + LoopbackCluster.HOST + ":" + cluster.coordinator().httpPort();
    }
}
