package dev.expertmesh.serving;

import dev.expertmesh.Fixtures;
import dev.expertmesh.attentionworker.AttentionWorkerNode;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.coordinator.CoordinatorNode;
import dev.expertmesh.coordinator.ServingOptions;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.Generation;
import dev.expertmesh.engine.GenerationRequest;
import dev.expertmesh.engine.SchedulerLimits;
import dev.expertmesh.expertworker.ExpertWorkerNode;
import dev.expertmesh.membership.MemberSettings;
import dev.expertmesh.membership.NodeOptions;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.proto.HiddenType;
import dev.expertmesh.sampling.SamplingParams;
import dev.expertmesh.tokenizer.Tokenizer;
import dev.expertmesh.transport.TransportOptions;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A whole cluster on loopback for the HTTP tests: a coordinator serving a fixture model with the
 * tiny tokenizer and HTTP on a free port, two expert workers and an attention worker, fp32 on the
 * wire so that greedy tokens are the single-process engine's.
 */
final class LoopbackCluster implements AutoCloseable {
    static final String HOST = "127.0.0.1";
    private static final int BLOCK_TOKENS = 16;
    private static final int CACHE_BLOCKS = 64;

    private final String model;
    private final TensorSource weights;
    private final ModelConfig config;
    private final Tokenizer tokenizer;
    private final List<AutoCloseable> nodes = new ArrayList<>();
    private final CoordinatorNode coordinator;

    LoopbackCluster(String model) throws Exception {
        this.model = model;
        this.weights = Checkpoint.open(Fixtures.model(model));
        this.config = ModelConfig.load(Fixtures.model(model));
        this.tokenizer = Tokenizer.load(tinyTokenizer());
        int hazelcastPort = freePort();
        String clusterName = "openai-http-" + hazelcastPort;
        MemberSettings first = new MemberSettings(clusterName, HOST, hazelcastPort, List.of());
        MemberSettings joining = new MemberSettings(clusterName, HOST, hazelcastPort + 1, List.of(HOST + ":" + hazelcastPort));
        coordinator = CoordinatorNode.start(new NodeOptions(HOST, 0, first), weights, config, new CpuBackend(),
                TransportOptions.DEFAULT.withHiddenType(HiddenType.FP32),
                new ServingOptions(model, Optional.of(tokenizer), SchedulerLimits.DEFAULT, 0));
        nodes.add(coordinator);
        nodes.add(AttentionWorkerNode.start(new NodeOptions(HOST, 0, joining), weights, config, new CpuBackend(), BLOCK_TOKENS, CACHE_BLOCKS));
        for (int i = 0; i < 2; i++) {
            nodes.add(ExpertWorkerNode.start(new NodeOptions(HOST, 0, joining), weights, config, new CpuBackend(), 1L << 30));
        }
        coordinator.awaitReady(2, Duration.ofSeconds(60));
    }

    /** The tokenizer made for the tiny models, kept apart from their directories (which have none on purpose). */
    static java.nio.file.Path tinyTokenizer() {
        return Fixtures.testdata().resolve("tokenizers/tiny");
    }

    String model() {
        return model;
    }

    ModelConfig config() {
        return config;
    }

    Tokenizer tokenizer() {
        return tokenizer;
    }

    CoordinatorNode coordinator() {
        return coordinator;
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
        tokenizer.close();
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
