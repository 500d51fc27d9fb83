package dev.expertmesh.coordinator;

import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.coordinator.access.ApiKeyInterceptor;
import dev.expertmesh.coordinator.api.InferenceService;
import dev.expertmesh.coordinator.http.OpenAiServer;
import dev.expertmesh.coordinator.metrics.ClusterChanges;
import dev.expertmesh.coordinator.metrics.PrometheusText;
import dev.expertmesh.coordinator.metrics.ServingMetrics;
import dev.expertmesh.coordinator.routing.ExpertLoadStatus;
import dev.expertmesh.coordinator.routing.ExpertLoadWindow;
import dev.expertmesh.coordinator.routing.RoutingTrace;
import dev.expertmesh.coordinator.routing.StepSink;
import dev.expertmesh.coordinator.serving.Readiness;
import dev.expertmesh.coordinator.serving.TextGeneration;
import dev.expertmesh.engine.ComputeDevice;
import dev.expertmesh.engine.DeepseekModel;
import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.engine.ModelHost;
import dev.expertmesh.membership.ClusterMember;
import dev.expertmesh.membership.NodeOptions;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertRoutes;
import dev.expertmesh.placement.ExpertLoads;
import dev.expertmesh.proto.ClusterStatus;
import dev.expertmesh.proto.InferenceGrpc;
import dev.expertmesh.proto.NodeDescriptor;
import dev.expertmesh.proto.Role;
import dev.expertmesh.shardmap.ShardMapKeeper;
import dev.expertmesh.shardmap.ShardMapStore;
import dev.expertmesh.transport.TlsFiles;
import dev.expertmesh.transport.TransportOptions;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptors;
import io.grpc.TlsServerCredentials;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * The coordinator role: the public gRPC API (with the standard health service and reflection), the
 * OpenAI-compatible HTTP API with Prometheus metrics, the scheduler, the shard map kept in step with the expert workers, and an engine whose attention
 * and experts run on the workers.
 */
public final class CoordinatorNode implements AutoCloseable {
    private static final long READY_POLL_MILLIS = 100;
    /** How often the gRPC health service is brought up to date: a probe sees a change within this. */
    private static final long HEALTH_PERIOD_MILLIS = 200;
    private final Server server;
    private final OpenAiServer http;
    private final TextGeneration generation;
    private final ClusterMember member;
    private final ShardMapStore shardMaps;
    private final ShardMapKeeper keeper;
    private final ClusterEngine engine;
    private final ScheduledExecutorService healthChecks;
    private final ExpertLoadWindow loadWindow;

    private CoordinatorNode(Server server, OpenAiServer http, TextGeneration generation, ClusterMember member, ShardMapStore shardMaps,
                            ShardMapKeeper keeper, ClusterEngine engine, ScheduledExecutorService healthChecks, ExpertLoadWindow loadWindow) {
        this.server = server;
        this.http = http;
        this.generation = generation;
        this.member = member;
        this.shardMaps = shardMaps;
        this.keeper = keeper;
        this.engine = engine;
        this.healthChecks = healthChecks;
        this.loadWindow = loadWindow;
    }

    /**
     * {@code weights} (for the embeddings, routers and lm_head) and {@code device} (whose backend
     * computes them) must outlive the node; it announces the device and its memory for weights. With
     * {@code transport}'s TLS files, its gRPC API serves TLS with the node's certificate and it reaches
     * the workers over mutual TLS.
     */
    public static CoordinatorNode start(NodeOptions options, TensorSource weights, ModelConfig config, ComputeDevice device,
                                        TransportOptions transport, PlacementOptions placement, ServingOptions serving) {
        ClusterMember member = null;
        ShardMapStore shardMaps = null;
        ShardMapKeeper keeper = null;
        ClusterEngine engine = null;
        Server server = null;
        OpenAiServer http = null;
        ScheduledExecutorService healthChecks = null;
        // The API listens first, so the descriptor the cluster sees carries its real port; until the
        // engine exists, requests are told the coordinator is starting.
        AtomicReference<ClusterEngine> ready = new AtomicReference<>();
        RoutingCounts routingCounts = new RoutingCounts(config);
        ExpertLoadWindow loadWindow = new ExpertLoadWindow(config, serving.routing().windowSteps(), serving.routing().trace()
                .<StepSink>map(path -> RoutingTrace.create(path, config.nRoutedExperts())).orElse(StepSink.NONE));
        ServingMetrics metrics = new ServingMetrics();
        ClusterChanges changes = new ClusterChanges();
        TextGeneration generation = new TextGeneration(serving.modelName(), config, serving.tokenizer(), new ModelHost() {
            @Override
            public DeepseekModel model() {
                return starting(ready).model();
            }

            @Override
            public void beforeStep() {
                Optional.ofNullable(ready.get()).ifPresent(ClusterEngine::beforeStep);
            }

            @Override
            public void stepCompleted() {
                loadWindow.stepCompleted();
                Optional.ofNullable(ready.get()).ifPresent(ClusterEngine::stepCompleted);
            }
        }, serving.limits(), both(routingCounts, loadWindow), metrics);
        HealthStatusManager health = new HealthStatusManager();
        Supplier<Readiness> readiness = () -> Optional.ofNullable(ready.get()).map(ClusterEngine::readiness)
                .orElse(Readiness.notReady("the coordinator is starting"));
        reportHealth(health, readiness.get());
        Supplier<ClusterStatus> status = () -> ExpertLoadStatus.withLoad(starting(ready).status(), loadWindow.load(), config);
        InferenceService inference = new InferenceService(generation, status, () -> starting(ready).rebalance());
        try {
            server = NettyServerBuilder.forAddress(new InetSocketAddress(options.host(), options.port()), credentials(transport.tls()))
                    .addService(serving.apiKeys().map(keys -> ServerInterceptors.intercept(inference, new ApiKeyInterceptor(keys)))
                            .orElse(inference.bindService()))
                    .addService(health.getHealthService())
                    .addService(ProtoReflectionServiceV1.newInstance())
                    .build().start();
            http = startHttp(options.host(), serving, generation, new PrometheusText(metrics, generation.scheduler(), routingCounts,
                    loadWindow, config, changes, () -> starting(ready).workers()), status, readiness);
            member = ClusterMember.start(options.member(), NodeDescriptor.newBuilder()
                    .setRole(Role.COORDINATOR).setHost(options.host()).setPort(server.getPort()).setTls(transport.tls().isPresent())
                    .setDevice(device.name()).setWeightMemoryBytes(device.memoryForWeights()).build());
            shardMaps = new ShardMapStore(member);
            // Placement weighs the recent window: what the experts carry now, not since the start.
            keeper = ShardMapKeeper.start(member, shardMaps, config, placement.policy(),
                    () -> ExpertLoads.routed(config, loadWindow.load()::tokens));
            engine = new ClusterEngine(member, shardMaps, keeper, weights, config, device.backend(), transport, routingCounts, loadWindow, changes,
                    placement.rebalanceEverySteps());
            ready.set(engine);
            healthChecks = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("health").daemon().factory());
            healthChecks.scheduleWithFixedDelay(() -> reportHealth(health, readiness.get()), 0, HEALTH_PERIOD_MILLIS, TimeUnit.MILLISECONDS);
            return new CoordinatorNode(server, http, generation, member, shardMaps, keeper, engine, healthChecks, loadWindow);
        } catch (IOException e) {
            closeAll(server, http, generation, member, shardMaps, keeper, engine, healthChecks, loadWindow);
            throw new UncheckedIOException("the coordinator could not listen on " + options.host() + ":" + options.port()
                    + " for gRPC: free the port or choose another with --port", e);
        } catch (RuntimeException e) {
            closeAll(server, http, generation, member, shardMaps, keeper, engine, healthChecks, loadWindow);
            throw e;
        }
    }

    /**
     * The API's clients need not present a certificate: API keys, not certificates, say who may call it;
     * one that presents a certificate must have it signed by the cluster's CA.
     */
    private static ServerCredentials credentials(Optional<TlsFiles> tls) throws IOException {
        if (tls.isEmpty()) {
            return InsecureServerCredentials.create();
        }
        return TlsServerCredentials.newBuilder().keyManager(tls.get().certificateChain(), tls.get().keyPkcs8())
                .trustManager(tls.get().caCertificates()).clientAuth(TlsServerCredentials.ClientAuth.OPTIONAL).build();
    }

    /** The serving scheduler's one observer, feeding the totals and the window. */
    private static LayerObserver both(RoutingCounts totals, ExpertLoadWindow window) {
        return new LayerObserver() {
            @Override
            public void routed(int layer, ExpertRoutes routes) {
                totals.routed(layer, routes);
                window.routed(layer, routes);
            }
        };
    }

    private static OpenAiServer startHttp(String host, ServingOptions serving, TextGeneration generation, PrometheusText metrics,
                                          Supplier<ClusterStatus> status, Supplier<Readiness> readiness) {
        try {
            return OpenAiServer.start(host, serving.httpPort(), generation, metrics, status, readiness, serving.apiKeys());
        } catch (IOException e) {
            throw new UncheckedIOException("the coordinator could not listen on " + host + ":" + serving.httpPort()
                    + " for HTTP: free the port or choose another with --http-port", e);
        }
    }

    /** SERVING while a step can run, for the server as a whole and for the Inference service. */
    private static void reportHealth(HealthStatusManager health, Readiness readiness) {
        HealthCheckResponse.ServingStatus status = readiness.serving()
                ? HealthCheckResponse.ServingStatus.SERVING : HealthCheckResponse.ServingStatus.NOT_SERVING;
        health.setStatus("", status);
        health.setStatus(InferenceGrpc.SERVICE_NAME, status);
    }

    private static ClusterEngine starting(AtomicReference<ClusterEngine> ready) {
        ClusterEngine engine = ready.get();
        if (engine == null) {
            throw new IllegalStateException("the coordinator is starting");
        }
        return engine;
    }

    /**
     * Waits until the cluster can serve, as /health reports it, with at least {@code expertWorkers}
     * expert workers; IllegalStateException says what is still missing when {@code timeout} runs out.
     */
    public void awaitReady(int expertWorkers, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Readiness readiness = engine.readiness();
            int serving = engine.servingExpertWorkers();
            if (readiness.serving() && serving >= expertWorkers) {
                return;
            }
            if (System.nanoTime() > deadline) {
                Readiness missing = readiness.serving() ? Readiness.notReady(serving + " of " + expertWorkers + " expert workers placed") : readiness;
                throw new IllegalStateException(missing.refusal() + " (after waiting " + timeout.toSeconds() + " s)");
            }
            Thread.sleep(READY_POLL_MILLIS);
        }
    }

    /** The gRPC port (the one asked for, or the free one taken for port 0). */
    public int port() {
        return server.getPort();
    }

    /** The HTTP port of the OpenAI-compatible API and /metrics. */
    public int httpPort() {
        return http.port();
    }

    public String nodeId() {
        return member.nodeId();
    }

    /** What the public APIs serve. */
    public TextGeneration generation() {
        return generation;
    }

    @Override
    public void close() {
        closeAll(server, http, generation, member, shardMaps, keeper, engine, healthChecks, loadWindow);
    }

    private static void closeAll(Server server, OpenAiServer http, TextGeneration generation, ClusterMember member,
                                 ShardMapStore shardMaps, ShardMapKeeper keeper, ClusterEngine engine,
                                 ScheduledExecutorService healthChecks, ExpertLoadWindow loadWindow) {
        if (http != null) {
            http.close();
        }
        if (healthChecks != null) {
            healthChecks.shutdownNow();
        }
        if (server != null) {
            server.shutdownNow();
            try {
                server.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        generation.close();
        // After the scheduler has stopped, so that the trace ends with its last step.
        loadWindow.close();
        if (engine != null) {
            engine.close();
        }
        if (keeper != null) {
            keeper.close();
        }
        if (shardMaps != null) {
            shardMaps.close();
        }
        if (member != null) {
            member.close();
        }
    }
}
