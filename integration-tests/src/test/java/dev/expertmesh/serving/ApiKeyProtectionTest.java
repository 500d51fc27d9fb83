package dev.expertmesh.serving;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.Fixtures;
import dev.expertmesh.client.Completion;
import dev.expertmesh.client.ExpertMeshClient;
import dev.expertmesh.client.ExpertMeshException;
import dev.expertmesh.client.GenerationRequest;
import dev.expertmesh.coordinator.access.ApiKeys;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A coordinator with API keys, over real sockets: every /v1 HTTP request and Inference gRPC call
 * without one of its keys is refused (401 with OpenAI's error JSON; UNAUTHENTICATED), with one it is
 * served; the probes and /metrics stay open; and no key, good or bad, ever reaches the log.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ApiKeyProtectionTest {
    private static final String MODEL = "tiny-v2-lite";
    private static final String KEY = "em-test-key-7f3a91c2";
    private static final String SECOND_KEY = "em-test-key-second-55d0";
    private static final String WRONG_KEY = "em-test-key-wrong-0be4";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    /** What the nodes log (slf4j-simple writes to System.err as it is at each line), and a copy of it. */
    private final ByteArrayOutputStream logged = new ByteArrayOutputStream();
    private PrintStream stderr;
    private LoopbackCluster cluster;
    private int[] prompt;
    private List<Integer> greedy;

    @BeforeAll
    void start() throws Exception {
        stderr = System.err;
        System.setErr(new PrintStream(new Tee(stderr, logged), true, StandardCharsets.UTF_8));
        cluster = LoopbackCluster.withoutWorkers(MODEL, Optional.of(ApiKeys.of(List.of(KEY, SECOND_KEY))));
        cluster.joinWorkers();
        try (var golden = Fixtures.golden(MODEL)) {
            prompt = golden.ints("p1.input_ids");
            greedy = Arrays.stream(golden.ints("p1.greedy_tokens")).boxed().toList();
        }
    }

    @AfterAll
    void stop() throws Exception {
        http.close();
        if (cluster != null) {
            cluster.close();
        }
        System.setErr(stderr);
    }

    @Test
    void httpWithoutAValidKeyIsRefusedWithOpenAisError() throws Exception {
        for (Optional<String> authorization : List.of(Optional.<String>empty(), Optional.of("Bearer " + WRONG_KEY),
                Optional.of("Basic " + KEY), Optional.of("Bearer"))) {
            for (HttpResponse<String> refused : List.of(get("/v1/models", authorization), complete(authorization), get("/v1/nothing", authorization))) {
                assertThat(refused.statusCode()).as("%s with %s", refused.uri(), authorization).isEqualTo(401);
                assertThat(refused.headers().firstValue("WWW-Authenticate")).contains("Bearer");
                JsonNode error = JSON.readTree(refused.body()).get("error");
                assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
                assertThat(error.get("param").isNull()).isTrue();
                assertThat(error.get("code").asText()).isEqualTo("invalid_api_key");
                assertThat(error.get("message").asText()).contains("API key").doesNotContain(KEY, WRONG_KEY);
            }
        }
    }

    @Test
    void httpWithAKeyIsServed() throws Exception {
        for (String key : List.of(KEY, SECOND_KEY)) {
            HttpResponse<String> served = complete(Optional.of("Bearer " + key));
            assertThat(served.statusCode()).as(served.body()).isEqualTo(200);
            assertThat(JSON.readTree(served.body()).get("usage").get("completion_tokens").asInt()).isEqualTo(greedy.size());
            assertThat(get("/v1/models", Optional.of("Bearer " + key)).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void theOpenAiNodeClientIsRefusedAsOpenAiRefusesItAndServedWithAKey() throws Exception {
        NodeScripts.assumeAvailable();
        JsonNode seen = JSON.readTree(NodeScripts.run("openai-auth.mjs", cluster.baseUrl(), MODEL, KEY));
        assertThat(seen.at("/refused/status").asInt()).as("an AuthenticationError").isEqualTo(401);
        assertThat(seen.at("/refused/code").asText()).isEqualTo("invalid_api_key");
        assertThat(seen.at("/refused/type").asText()).isEqualTo("invalid_request_error");
        assertThat(seen.at("/served/completion_tokens").asInt()).isEqualTo(4);
    }

    @Test
    void probesAndMetricsStayOpen() throws Exception {
        for (String path : List.of("/health", "/ping", "/version", "/metrics")) {
            assertThat(get(path, Optional.empty()).statusCode()).as(path).isEqualTo(200);
        }
        ManagedChannel channel = ManagedChannelBuilder.forAddress(LoopbackCluster.HOST, cluster.coordinator().port()).usePlaintext().build();
        try {
            assertThat(HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .check(HealthCheckRequest.getDefaultInstance()).getStatus()).isEqualTo(ServingStatus.SERVING);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void grpcWithoutAValidKeyIsUnauthenticated() {
        for (Optional<String> key : List.of(Optional.<String>empty(), Optional.of(WRONG_KEY))) {
            try (ExpertMeshClient client = client(key)) {
                assertThatThrownBy(() -> client.complete(greedyRequest())).isInstanceOfSatisfying(ExpertMeshException.class,
                        e -> assertThat(e.code()).isEqualTo(Status.Code.UNAUTHENTICATED));
                assertThatThrownBy(client::status).isInstanceOfSatisfying(ExpertMeshException.class,
                        e -> assertThat(e.code()).isEqualTo(Status.Code.UNAUTHENTICATED));
                assertThatThrownBy(client::rebalance).isInstanceOfSatisfying(ExpertMeshException.class,
                        e -> assertThat(e.code()).isEqualTo(Status.Code.UNAUTHENTICATED));
                assertThatThrownBy(client::listModels).isInstanceOfSatisfying(ExpertMeshException.class,
                        e -> assertThat(e.serverMessage()).hasValueSatisfying(m -> assertThat(m).contains("API key").doesNotContain(KEY)));
            }
        }
    }

    @Test
    void grpcWithAKeyGeneratesTransformersGreedyTokens() {
        try (ExpertMeshClient client = client(Optional.of(KEY))) {
            Completion completion = client.complete(greedyRequest());
            assertThat(completion.tokenIds()).containsExactlyElementsOf(greedy);
            assertThat(client.status().getMembersCount()).isEqualTo(4);
        }
    }

    @Test
    void noKeyReachesTheLog() throws Exception {
        complete(Optional.of("Bearer " + WRONG_KEY));
        complete(Optional.of("Bearer " + KEY));
        try (ExpertMeshClient client = client(Optional.of(WRONG_KEY))) {
            assertThatThrownBy(client::status).isInstanceOf(ExpertMeshException.class);
        }
        try (ExpertMeshClient client = client(Optional.of(SECOND_KEY))) {
            client.complete(greedyRequest());
        }
        String log = logged.toString(StandardCharsets.UTF_8);
        assertThat(log).as("the refusals are logged, with where they came from")
                .containsPattern("A request without a valid API key from /127\\.0\\.0\\.1:\\d+");
        assertThat(log).doesNotContain(KEY, SECOND_KEY, WRONG_KEY, "em-test-key");
    }

    private GenerationRequest greedyRequest() {
        return GenerationRequest.tokenIds(prompt).maxTokens(greedy.size()).temperature(0);
    }

    private ExpertMeshClient client(Optional<String> key) {
        ExpertMeshClient.Builder builder = ExpertMeshClient.builder().address(cluster.address()).defaultDeadline(Duration.ofSeconds(60));
        return key.map(builder::apiKey).orElse(builder).build();
    }

    private HttpResponse<String> complete(Optional<String> authorization) throws Exception {
        return send(HttpRequest.newBuilder(URI.create(cluster.baseUrl() + "/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"" + MODEL + "\", \"prompt\": " + Arrays.toString(prompt)
                        + ", \"max_tokens\": " + greedy.size() + ", \"temperature\": 0, \"ignore_eos\": true}")), authorization);
    }

    private HttpResponse<String> get(String path, Optional<String> authorization) throws Exception {
        return send(HttpRequest.newBuilder(URI.create("http://" + LoopbackCluster.HOST + ":" + cluster.coordinator().httpPort() + path)).GET(),
                authorization);
    }

    private HttpResponse<String> send(HttpRequest.Builder request, Optional<String> authorization) throws Exception {
        authorization.ifPresent(value -> request.header("Authorization", value));
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Writes to both streams. */
    private static final class Tee extends OutputStream {
        private final OutputStream first;
        private final OutputStream second;

        Tee(OutputStream first, OutputStream second) {
            this.first = first;
            this.second = second;
        }

        @Override
        public void write(int b) throws IOException {
            first.write(b);
            second.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            first.write(b, off, len);
            second.write(b, off, len);
        }
    }
}
