package dev.expertmesh.serving;

import dev.expertmesh.Fixtures;
import dev.expertmesh.attentionworker.AttentionWorkerNode;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.coordinator.CoordinatorNode;
import dev.expertmesh.coordinator.PlacementOptions;
import dev.expertmesh.coordinator.ServingOptions;
import dev.expertmesh.coordinator.access.ApiKeys;
import dev.expertmesh.coordinator.routing.RoutingOptions;
import dev.expertmesh.engine.CpuDevice;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.Generation;
import dev.expertmesh.engine.GenerationRequest;
import dev.expertmesh.engine.Scheduler;
import dev.expertmesh.engine.SchedulerLimits;
import dev.expertmesh.expertworker.ExpertWorkerNode;
import dev.expertmesh.membership.ClusterSecret;
import dev.expertmesh.membership.MemberSettings;
import dev.expertmesh.membership.NodeOptions;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.placement.PlacementPolicy;
import dev.expertmesh.proto.HiddenType;
import dev.expertmesh.sampling.SamplingParams;
import dev.expertmesh.tokenizer.Tokenizer;
import dev.expertmesh.transport.TlsFiles;
import dev.expertmesh.transport.TransportOptions;
import dev.expertmesh.quantization.QuantizationPlan;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A whole cluster on loopback for the serving tests: a coordinator serving a fixture model, with gRPC
 * and HTTP on free ports, two expert workers and an attention worker, each with its own Hazelcast
 * member and server; fp32 on the wire so that greedy tokens are the single-process engine's. The
 * coordinator may start alone, for the workers to join later.
 */
final class LoopbackCluster implements AutoCloseable {
    static final String HOST = "127.0.0.1";
    private static final int BLOCK_TOKENS = 16;

    private final String model;
    private final TensorSource weights;
    private final ModelConfig config;
    private final Optional<Tokenizer> tokenizer;
    private final List<AutoCloseable> nodes = new ArrayList<>();
    private final CoordinatorNode coordinator;
    private final String clusterName;
    private final int hazelcastPort;
    private final int cacheBlocks;
    private final Optional<TlsFiles> tls;
    private final ClusterSecret secret;
    private AttentionWorkerNode attentionWorker;

    /** With the tiny tokenizer, the default scheduler limits and room for 64 blocks of 16 tokens. */
    LoopbackCluster(String model) throws Exception {
        this(model, true, SchedulerLimits.DEFAULT, 64);
    }

    LoopbackCluster(String model, boolean withTokenizer, SchedulerLimits limits, int cacheBlocks) throws Exception {
        this(model, withTokenizer, limits, cacheBlocks, PlacementOptions.of(new PlacementPolicy.Contiguous()), RoutingOptions.DEFAULT);
    }

    LoopbackCluster(String model, boolean withTokenizer, SchedulerLimits limits, int cacheBlocks, PlacementOptions placement,
                    RoutingOptions routing) throws Exception {
        this(model, withTokenizer, limits, cacheBlocks, placement, routing, Optional.empty(), Optional.empty(), ClusterSecret.NONE);
        joinWorkers();
    }

    /** Every node with {@code tls} (Flight over mutual TLS, the gRPC API over TLS) and signing with {@code secret}. */
    static LoopbackCluster secured(String model, TlsFiles tls, ClusterSecret secret) throws Exception {
        LoopbackCluster cluster = new LoopbackCluster(model, false, SchedulerLimits.DEFAULT, 64,
                PlacementOptions.of(new PlacementPolicy.Contiguous()), RoutingOptions.DEFAULT, Optional.empty(), Optional.of(tls), secret);
        cluster.joinWorkers();
        return cluster;
    }

    /** The coordinator alone, requiring {@code apiKeys} if any, with the tiny tokenizer: {@link #joinWorkers} adds the workers. */
    static LoopbackCluster withoutWorkers(String model, Optional<ApiKeys> apiKeys) throws Exception {
        return new LoopbackCluster(model, true, SchedulerLimits.DEFAULT, 64, PlacementOptions.of(new PlacementPolicy.Contiguous()),
                RoutingOptions.DEFAULT, apiKeys, Optional.empty(), ClusterSecret.NONE);
    }

    private LoopbackCluster(String model, boolean withTokenizer, SchedulerLimits limits, int cacheBlocks, PlacementOptions placement,
                            RoutingOptions routing, Optional<ApiKeys> apiKeys, Optional<TlsFiles> tls, ClusterSecret secret)
            throws Exception {
        this.model = model;
        this.cacheBlocks = cacheBlocks;
        this.tls = tls;
        this.secret = secret;
        this.weights = Checkpoint.open(Fixtures.model(model));
        this.config = ModelConfig.load(Fixtures.model(model));
        this.tokenizer = withTokenizer ? Optional.of(Tokenizer.load(tinyTokenizer())) : Optional.empty();
        this.hazelcastPort = freePort();
        this.clusterName = "loopback-" + hazelcastPort;
        MemberSettings first = new MemberSettings(clusterName, HOST, hazelcastPort, List.of()).withSecret(secret);
        coordinator = CoordinatorNode.start(new NodeOptions(HOST, 0, first), weights, config, new CpuDevice(),
                TransportOptions.DEFAULT.withHiddenType(HiddenType.FP32).withTls(tls), placement,
                new ServingOptions(model, tokenizer, limits, 0, routing, apiKeys));
        nodes.add(coordinator);
    }

    /** Starts the attention worker and the two expert workers, and waits until the coordinator serves with them. */
    void joinWorkers() throws Exception {
        attentionWorker = AttentionWorkerNode.start(joining(secret), weights, config, new CpuDevice(), QuantizationPlan.NONE, BLOCK_TOKENS, cacheBlocks, tls);
        nodes.add(attentionWorker);
        for (int i = 0; i < 2; i++) {
            nodes.add(ExpertWorkerNode.start(joining(secret), weights, config, new CpuDevice(), QuantizationPlan.NONE, tls));
        }
        coordinator.awaitReady(2, Duration.ofSeconds(60));
    }

    /** Stops the attention worker, leaving the cluster without one. */
    void stopAttentionWorker() {
        nodes.remove(attentionWorker);
        attentionWorker.close();
    }

    /** The tokenizer made for the tiny models, kept apart from their directories (which have none on purpose). */
    static java.nio.file.Path tinyTokenizer() {
        return Fixtures.testdata().resolve("tokenizers/tiny");
    }

    /** Where another node joins this cluster from, signing with {@code secret}. */
    NodeOptions joining(ClusterSecret secret) {
        return new NodeOptions(HOST, 0, new MemberSettings(clusterName, HOST, hazelcastPort + 1, List.of(HOST + ":" + hazelcastPort))
                .withSecret(secret));
    }

    String model() {
        return model;
    }

    TensorSource weights() {
        return weights;
    }

    ModelConfig config() {
        return config;
    }

    Tokenizer tokenizer() {
        return tokenizer.orElseThrow();
    }

    CoordinatorNode coordinator() {
        return coordinator;
    }

    /** The gRPC address, host:port. */
    String address() {
        return HOST + ":" + coordinator.port();
    }

    String baseUrl() {
        return "http://" + HOST + ":" + coordinator.httpPort() + "/v1";
    }

    /** The single-process engine's greedy generation for {@code prompt} alone. */
    Generation greedy(int[] prompt, int maxTokens) {
        try (Engine alone = Engine.load(Fixtures.model(model), new CpuBackend())) {
            return alone.generate(new GenerationRequest(prompt, SamplingParams.GREEDY, maxTokens));
        }
    }

    @Override
    public void close() throws Exception {
        for (AutoCloseable node : nodes) {
            node.close();
        }
        weights.close();
        tokenizer.ifPresent(Tokenizer::close);
    }

    /** One greedy completion of {@code prompt} through the HTTP API, past eos, and the cluster idle after it. */
    void completeGreedy(HttpClient http, int[] prompt, int maxTokens) throws Exception {
        HttpResponse<String> completion = http.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\": \"" + model + "\", \"prompt\": " + Arrays.toString(prompt)
                                + ", \"max_tokens\": " + maxTokens + ", \"temperature\": 0, \"ignore_eos\": true}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(completion.statusCode()).as(completion.body()).isEqualTo(200);
        awaitIdle();
    }

    /** Waits until nothing runs and no cache block is held: what is cancelled leaves within a step. */
    void awaitIdle() throws InterruptedException {
        Scheduler scheduler = coordinator.generation().scheduler();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while ((scheduler.running() > 0 || scheduler.cacheUsage().usedBlocks() > 0) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(scheduler.running()).as("running requests").isZero();
        assertThat(scheduler.cacheUsage().usedBlocks()).as("cache blocks in use").isZero();
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
