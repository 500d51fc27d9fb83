package dev.expertmesh.serving;

import dev.expertmesh.Fixtures;
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
import dev.expertmesh.engine.SchedulerLimits;
import dev.expertmesh.model.ModelConfig;
import io.grpc.Status;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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

    private LoopbackCluster cluster;
    private ModelConfig config;
    private String address;
    private ExpertMeshClient client;

    @BeforeAll
    void startCluster() throws Exception {
        cluster = new LoopbackCluster(MODEL, false, SchedulerLimits.DEFAULT, 256);
        config = cluster.config();
        address = cluster.address();
        client = ExpertMeshClient.builder().address(address).defaultModel(MODEL).defaultDeadline(Duration.ofSeconds(120)).build();
    }

    @AfterAll
    void stopCluster() throws Exception {
        if (client != null) {
            client.close();
        }
        if (cluster != null) {
            cluster.close();
        }
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
        GenerationRequest endless = GenerationRequest.tokenIds(cases().get(1).prompt()).ignoreEos(true);
        long start = System.nanoTime();
        client.complete(endless);
        // A quarter of what filling the context takes: the deadline passes mid-generation however fast the cluster is.
        Duration deadline = Duration.ofNanos((System.nanoTime() - start) / 4);
        assertThatThrownBy(() -> client.complete(endless.deadline(deadline)))
                .isInstanceOfSatisfying(ExpertMeshException.class, e -> assertThat(e.code()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
        cluster.awaitIdle();
    }

    @Test
    void closingAStreamEarlyOrCancellingAHandleFreesTheBlocks() throws Exception {
        GenerationRequest endless = GenerationRequest.tokenIds(cases().get(1).prompt()).ignoreEos(true);
        try (GenerationStream stream = client.generate(endless)) {
            assertThat(stream.next().tokenIds()).hasSize(1);
        }
        cluster.awaitIdle();

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
        cluster.awaitIdle();
    }

    @Test
    void newRequestsMovePastAnUnreachableCoordinator() throws Exception {
        Case c = cases().getFirst();
        try (ExpertMeshClient failingOver = ExpertMeshClient.builder().address(LoopbackCluster.HOST + ":" + LoopbackCluster.freePort()).address(address).build()) {
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
}
