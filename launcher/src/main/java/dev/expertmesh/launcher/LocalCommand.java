package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.node.MissingNode;
import dev.expertmesh.attention.CacheBlocks;
import dev.expertmesh.attentionworker.AttentionWorkerNode;
import dev.expertmesh.client.ExpertMeshClient;
import dev.expertmesh.coordinator.CoordinatorNode;
import dev.expertmesh.coordinator.PlacementOptions;
import dev.expertmesh.coordinator.ServingOptions;
import dev.expertmesh.cuda.device.Device;
import dev.expertmesh.cuda.stage.DeviceStages;
import dev.expertmesh.engine.ComputeDevice;
import dev.expertmesh.expertworker.ExpertWorkerNode;
import dev.expertmesh.membership.ClusterSecret;
import dev.expertmesh.membership.MemberSettings;
import dev.expertmesh.membership.NodeOptions;
import dev.expertmesh.quantization.QuantizationPlan;
import dev.expertmesh.tokenizer.Tokenizer;
import dev.expertmesh.transport.TlsFiles;
import dev.expertmesh.transport.TransportOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

@Command(name = "local", mixinStandardHelpOptions = true,
        description = "Runs a whole cluster in this process, with real sockets on loopback: a coordinator, expert workers and "
                + "attention workers, each with its own Hazelcast member and Flight or gRPC server. With a prompt, generates "
                + "through the coordinator's gRPC API and stops; without one, serves until stopped.")
final class LocalCommand implements Callable<Integer> {
    private static final String HOST = "127.0.0.1";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Hugging Face model directory, or 'demo' (or 'demo-skewed', whose routers prefer a few experts).")
    String model;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "Take the tokenizer from this directory instead of --model's.")
    Path tokenizerDir;

    @Option(names = "--expert-workers", defaultValue = "2", paramLabel = "N", description = "Expert workers. Default: ${DEFAULT-VALUE}.")
    int expertWorkers;

    @Option(names = "--attention-workers", defaultValue = "1", paramLabel = "M", description = "Attention workers. Default: ${DEFAULT-VALUE}.")
    int attentionWorkers;

    @Option(names = "--port", defaultValue = "0", paramLabel = "P", description = "The coordinator's gRPC port; 0 (the default) takes a free one.")
    int port;

    @Option(names = "--http-port", paramLabel = "P", description = "The coordinator's port of the OpenAI-compatible HTTP API "
            + "and /metrics; 0 takes a free one. Default: 8000 when serving, a free one for a one-shot prompt.")
    Integer httpPort;

    @Option(names = "--transport", defaultValue = "bf16", paramLabel = "TYPE", description = "Hidden vectors on the wire: bf16 or fp32. Default: ${DEFAULT-VALUE}.")
    String transport;

    @Option(names = "--micro-batches", defaultValue = "2", paramLabel = "N", description = "Micro-batches a step is split into so "
            + "that one's attention overlaps another's experts; 1 turns it off. Default: ${DEFAULT-VALUE}.")
    int microBatches;

    @Option(names = "--reply-timeout-ms", defaultValue = "10000", paramLabel = "MS", description = "How long a worker may take "
            + "to answer one message before it is fenced and routed around. Default: ${DEFAULT-VALUE}.")
    int replyTimeoutMs;

    @Option(names = "--placement", defaultValue = "contiguous", paramLabel = "POLICY", description = "How routed experts are "
            + "placed: contiguous, eplb-global, eplb-hierarchical or memory-weighted. Default: ${DEFAULT-VALUE}.")
    String placement;

    @Option(names = "--redundant-experts", defaultValue = "0", paramLabel = "R", description = "Extra replicas of routed experts "
            + "per MoE layer, on the expert workers hosting the fewest. Default: ${DEFAULT-VALUE}.")
    int redundantExperts;

    @Option(names = "--rebalance-every-steps", defaultValue = "0", paramLabel = "N", description = "Place the experts again on "
            + "the tokens routed so far every N steps; 0 only when asked. Default: ${DEFAULT-VALUE}.")
    int rebalanceEverySteps;

    @Option(names = "--device", defaultValue = "cpu", paramLabel = "DEVICE", description = "Where every node computes: cpu, cuda, "
            + "cuda:N, or auto (cuda:0 when there is a GPU, else cpu). Default: ${DEFAULT-VALUE}.")
    String device;

    @Mixin
    QuantizeOptions quantize;

    @Mixin
    SchedulerOptions scheduler;

    @Mixin
    RoutingStatsOptions routing;

    @Mixin
    GenerationOptions generation;

    @Mixin
    ApiKeyOptions apiKeys;

    @Mixin
    SecurityOptions security;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (expertWorkers < 1 || attentionWorkers < 1) {
            throw new IllegalArgumentException("a cluster needs at least one expert worker and one attention worker");
        }
        Optional<TlsFiles> tls = security.tls(MissingNode.getInstance());
        ClusterSecret secret = security.secret(MissingNode.getInstance());
        TransportOptions transportOptions = ClusterOptions.transport(transport, microBatches, replyTimeoutMs).withTls(tls);
        PlacementOptions placementOptions = new PlacementOptions(ClusterOptions.placement(placement, redundantExperts), rebalanceEverySteps);
        QuantizationPlan plan = quantize.plan(MissingNode.getInstance());
        ComputeDevice stages = DeviceStages.open(Device.select(device));
        Optional<Tokenizer> tokenizer = ModelOptions.openTokenizer(model, tokenizerDir);
        List<AutoCloseable> started = new ArrayList<>();
        // Closed last: every node computes on it.
        started.add(stages);
        try {
            var request = generation.hasPrompt() ? generation.request(tokenizer) : null;
            ModelSource source = ModelSource.open(model);
            started.add(source);
            // One Hazelcast cluster of its own per run, joined at the coordinator's member.
            int hazelcastPort = freePort();
            String clusterName = "expertmesh-local-" + ProcessHandle.current().pid() + "-" + hazelcastPort;
            MemberSettings first = new MemberSettings(clusterName, HOST, hazelcastPort, List.of()).withSecret(secret);
            MemberSettings joining = new MemberSettings(clusterName, HOST, hazelcastPort + 1, List.of(HOST + ":" + hazelcastPort)).withSecret(secret);
            CoordinatorNode coordinator = CoordinatorNode.start(new NodeOptions(HOST, port, first), source.weights(), source.config(),
                    stages, transportOptions, placementOptions, new ServingOptions(ClusterOptions.servedName(model), tokenizer, scheduler.limits(MissingNode.getInstance()),
                    httpPort != null ? httpPort : request != null ? 0 : ServingOptions.DEFAULT_HTTP_PORT, routing.routing(MissingNode.getInstance()),
                    apiKeys.required(MissingNode.getInstance())));
            started.add(coordinator);
            for (int i = 0; i < attentionWorkers; i++) {
                started.add(AttentionWorkerNode.start(new NodeOptions(HOST, 0, joining), source.weights(), source.config(),
                        stages, plan, CacheBlocks.DEFAULT_BLOCK_TOKENS, ClusterOptions.DEFAULT_CACHE_BLOCKS, tls));
            }
            for (int i = 0; i < expertWorkers; i++) {
                started.add(ExpertWorkerNode.start(new NodeOptions(HOST, 0, joining), source.weights(), source.config(), stages, plan, tls));
            }
            coordinator.awaitReady(expertWorkers, READY_TIMEOUT);
            String address = HOST + ":" + coordinator.port();
            var err = spec.commandLine().getErr();
            String httpAddress = "http://" + HOST + ":" + coordinator.httpPort();
            err.printf("local cluster ready: coordinator %s (HTTP %s), %s, %s%n", address, httpAddress,
                    count(expertWorkers, "expert worker"), count(attentionWorkers, "attention worker"));
            if (request == null) {
                // Never returns: the process ends on Ctrl-C or SIGTERM, after the shutdown hook closes the nodes.
                Serving.untilStopped(() -> closeAll(started), spec.commandLine().getOut(), "local cluster serving gRPC on port " + coordinator.port() + ", HTTP on port " + coordinator.httpPort());
            }
            ExpertMeshClient.Builder builder = ExpertMeshClient.builder().address(address);
            tls.ifPresent(files -> builder.trustedCa(files.ca()));
            try (ExpertMeshClient client = apiKeys.sentBy(builder).build()) {
                generation.run(new ClusterGenerator(client), request, tokenizer, spec.commandLine().getOut(), err);
            }
            return 0;
        } finally {
            tokenizer.ifPresent(Tokenizer::close);
            closeAll(started);
        }
    }

    /**
     * The coordinator first, so its streams to the workers are closed before they stop (a worker
     * otherwise waits out Flight's grace period for them), then the rest in reverse order of start.
     */
    private static void closeAll(List<AutoCloseable> started) throws Exception {
        List<AutoCloseable> order = new ArrayList<>(started.reversed());
        order.stream().filter(c -> c instanceof CoordinatorNode).findFirst().ifPresent(c -> {
            order.remove(c);
            order.addFirst(c);
        });
        for (AutoCloseable c : order) {
            c.close();
        }
    }

    private static String count(int n, String what) {
        return n + " " + what + (n == 1 ? "" : "s");
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
