package dev.expertmesh.serving;

import dev.expertmesh.Fixtures;
import dev.expertmesh.attentionworker.AttentionWorkerNode;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.client.Completion;
import dev.expertmesh.client.ExpertMeshClient;
import dev.expertmesh.client.ExpertMeshException;
import dev.expertmesh.client.Finish;
import dev.expertmesh.client.FinishReason;
import dev.expertmesh.client.GenerationDelta;
import dev.expertmesh.client.GenerationHandle;
import dev.expertmesh.client.GenerationListener;
import dev.expertmesh.client.GenerationRequest;
import dev.expertmesh.client.GenerationStream;
import dev.expertmesh.client.ModelInfo;
import dev.expertmesh.client.TokenLogprob;
import dev.expertmesh.client.Usage;
import dev.expertmesh.coordinator.CoordinatorNode;
import dev.expertmesh.coordinator.ServingOptions;
import dev.expertmesh.engine.SchedulerLimits;
import dev.expertmesh.expertworker.ExpertWorkerNode;
import dev.expertmesh.membership.MemberSettings;
import dev.expertmesh.membership.NodeOptions;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.proto.HiddenType;
import dev.expertmesh.transport.TransportOptions;
import io.grpc.Status;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The client SDK against a whole cluster on loopback: greedy generations equal transformers' greedy
 * tokens of the fixture (fp32 on the wire), streamed token by token, blocking or asynchronous, with
 * log probabilities; errors, deadlines, cancellation and failover as a user sees them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClientSdkTest {
    private static final String MODEL = "tiny-v2-lite";
    private static final String HOST = "127.0.0.1";

    private TensorSource weights;
    private ModelConfig config;
    private final List<AutoCloseable> nodes = new ArrayList<>();
    private CoordinatorNode coordinator;
    private String address;
    private ExpertMeshClient client;

    @BeforeAll
    void startCluster() throws Exception {
        weights = Checkpoint.open(Fixtures.model(MODEL));
        config = ModelConfig.load(Fixtures.model(MODEL));
        int hazelcastPort = freePort();
        String clusterName = "client-sdk-" + hazelcastPort;
        MemberSettings first = new MemberSettings(clusterName, HOST, hazelcastPort, List.of());
        MemberSettings joining = new MemberSettings(clusterName, HOST, hazelcastPort + 1, List.of(HOST + ":" + hazelcastPort));
        coordinator = CoordinatorNode.start(new NodeOptions(HOST, 0, first), weights, config, new CpuBackend(),
                TransportOptions.DEFAULT.withHiddenType(HiddenType.FP32), new ServingOptions(MODEL, Optional.empty(), SchedulerLimits.DEFAULT, 0));
        nodes.add(coordinator);
        nodes.add(AttentionWorkerNode.start(new NodeOptions(HOST, 0, joining), weights, config, new CpuBackend(), 16, 256));
        for (int i = 0; i < 2; i++) {
            nodes.add(ExpertWorkerNode.start(new NodeOptions(HOST, 0, joining), weights, config, new CpuBackend(), 1L << 30));
        }
        coordinator.awaitReady(2, Duration.ofSeconds(60));
        address = HOST + ":" + coordinator.port();
        client = ExpertMeshClient.builder().address(address).defaultModel(MODEL).defaultDeadline(Duration.ofSeconds(120)).build();
    }

    @AfterAll
    void stopCluster() throws Exception {
        if (client != null) {
            client.close();
        }
        for (AutoCloseable node : nodes) {
            node.close();
        }
        weights.close();
    }

    private record Case(int[] prompt, List<Integer> greedy) {
    }

    /** The fixture's prompts that come with transformers' greedy continuations, and those. */
    private static List<Case> cases() {
        try (var golden = Fixtures.golden(MODEL)) {
            List<Case> cases = new ArrayList<>();
            for (int p = 1; p <= 2; p++) {
                cases.add(new Case(golden.ints("p" + p + ".input_ids"), Arrays.stream(golden.ints("p" + p + ".greedy_tokens")).boxed().toList()));
            }
            return cases;
        }
    }

    private static GenerationRequest greedy(Case c) {
        return GenerationRequest.tokenIds(c.prompt()).maxTokens(c.greedy().size()).temperature(0);
    }

    @Test
    void completeGivesTransformersGreedyTokensAndTheUsage() {
        for (Case c : cases()) {
            Completion completion = client.complete(greedy(c));
            assertThat(completion.tokenIds()).containsExactlyElementsOf(c.greedy());
            assertThat(completion.finish().usage()).isEqualTo(new Usage(c.prompt().length, c.greedy().size()));
        }
    }

    @Test
    void aBlockingStreamYieldsTheTokensOneDeltaEachWithTheirLogprobs() {
        Case c = cases().get(0);
        List<GenerationDelta> deltas = new ArrayList<>();
        Finish finish;
        try (GenerationStream stream = client.generate(greedy(c).logprobs(2))) {
            stream.forEach(deltas::add);
            finish = stream.finish();
        }
        assertThat(deltas).allSatisfy(d -> assertThat(d.tokenIds()).hasSize(1));
        assertThat(deltas.stream().flatMap(d -> d.tokenIds().stream()).toList()).containsExactlyElementsOf(c.greedy());
        List<TokenLogprob> logprobs = deltas.stream().flatMap(d -> d.logprobs().stream()).toList();
        assertThat(logprobs).extracting(TokenLogprob::tokenId).containsExactlyElementsOf(c.greedy());
        assertThat(logprobs).allSatisfy(lp -> {
            assertThat(lp.logprob()).isNegative();
            assertThat(lp.top()).hasSize(2);
            assertThat(lp.top().getFirst().tokenId()).as("greedy picks the most likely").isEqualTo(lp.tokenId());
        });
        assertThat(finish.reason()).isEqualTo(FinishReason.LENGTH);
    }

    @Test
    void concurrentAsyncGenerationsEachGetTheirOwnTokens() throws Exception {
        List<Case> cases = cases();
        List<CompletableFuture<List<Integer>>> results = new ArrayList<>();
        for (Case c : cases) {
            CompletableFuture<List<Integer>> result = new CompletableFuture<>();
            List<Integer> tokens = new ArrayList<>();
            client.generateAsync(greedy(c), new GenerationListener() {
                @Override
                public void onDelta(GenerationDelta delta) {
                    tokens.addAll(delta.tokenIds());
                }

                @Override
                public void onFinish(Finish finish) {
                    result.complete(tokens);
                }

                @Override
                public void onError(ExpertMeshException error) {
                    result.completeExceptionally(error);
                }
            });
            results.add(result);
        }
        for (int i = 0; i < cases.size(); i++) {
            assertThat(results.get(i).get(120, TimeUnit.SECONDS)).containsExactlyElementsOf(cases.get(i).greedy());
        }
    }

    @Test
    void aBadFieldIsAnExceptionNamingIt() {
        assertThatThrownBy(() -> client.complete(GenerationRequest.tokenIds(1, 2).temperature(-1)))
                .isInstanceOfSatisfying(ExpertMeshException.class, e -> {
                    assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getMessage()).startsWith("temperature");
                });
        assertThatThrownBy(() -> client.complete(GenerationRequest.tokenIds(config.vocabSize())))
                .isInstanceOf(ExpertMeshException.class).hasMessageContaining("prompt");
        assertThatThrownBy(() -> client.tokenize("Hello"))
                .isInstanceOfSatisfying(ExpertMeshException.class, e -> assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    }

    @Test
    void aRequestDeadlineEndsAGenerationAndFreesItsBlocks() throws Exception {
        GenerationRequest endless = GenerationRequest.tokenIds(cases().get(1).prompt()).maxTokens(100_000).ignoreEos(true)
                .deadline(Duration.ofMillis(500));
        assertThatThrownBy(() -> client.complete(endless))
                .isInstanceOfSatisfying(ExpertMeshException.class, e -> assertThat(e.code()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
        awaitIdle();
    }

    @Test
    void closingAStreamEarlyOrCancellingAHandleFreesTheBlocks() throws Exception {
        GenerationRequest endless = GenerationRequest.tokenIds(cases().get(1).prompt()).maxTokens(100_000).ignoreEos(true);
        try (GenerationStream stream = client.generate(endless)) {
            assertThat(stream.next().tokenIds()).hasSize(1);
        }
        awaitIdle();

        CompletableFuture<ExpertMeshException> ended = new CompletableFuture<>();
        CompletableFuture<Void> firstDelta = new CompletableFuture<>();
        GenerationHandle handle = client.generateAsync(endless, new GenerationListener() {
            @Override
            public void onDelta(GenerationDelta delta) {
                firstDelta.complete(null);
            }

            @Override
            public void onFinish(Finish finish) {
                ended.completeExceptionally(new AssertionError("finished: " + finish));
            }

            @Override
            public void onError(ExpertMeshException error) {
                ended.complete(error);
            }
        });
        firstDelta.get(60, TimeUnit.SECONDS);
        handle.cancel();
        assertThat(ended.get(60, TimeUnit.SECONDS).code()).isEqualTo(Status.Code.CANCELLED);
        awaitIdle();
    }

    @Test
    void newRequestsMovePastAnUnreachableCoordinator() throws Exception {
        Case c = cases().getFirst();
        try (ExpertMeshClient failingOver = ExpertMeshClient.builder().address(HOST + ":" + freePort()).address(address).build()) {
            // Two requests: one starts at the unreachable address, the other at the coordinator.
            for (int i = 0; i < 2; i++) {
                assertThat(failingOver.complete(greedy(c)).tokenIds()).containsExactlyElementsOf(c.greedy());
            }
            assertThat(failingOver.listModels()).extracting(ModelInfo::id).containsExactly(MODEL);
        }
    }

    @Test
    void listModelsAndStatusDescribeTheCluster() {
        assertThat(client.listModels()).containsExactly(new ModelInfo(MODEL, config.modelType(), config.maxPositionEmbeddings(), config.vocabSize()));
        assertThat(client.status().getMembersList()).hasSize(4);
    }

    /** Waits until nothing runs: what is cancelled leaves within a step. */
    private void awaitIdle() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (coordinator.generation().scheduler().running() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(coordinator.generation().scheduler().running()).isZero();
        assertThat(coordinator.generation().scheduler().cacheUsage().usedBlocks()).isZero();
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
