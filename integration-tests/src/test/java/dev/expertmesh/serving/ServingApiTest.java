package dev.expertmesh.serving;

import dev.expertmesh.Fixtures;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.coordinator.CoordinatorNode;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.GenerationRequest;
import dev.expertmesh.engine.SchedulerLimits;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.proto.Finish;
import dev.expertmesh.proto.FinishReason;
import dev.expertmesh.proto.GenerateRequest;
import dev.expertmesh.proto.GenerateResponse;
import dev.expertmesh.proto.InferenceGrpc;
import dev.expertmesh.proto.ListModelsRequest;
import dev.expertmesh.proto.ModelCard;
import dev.expertmesh.proto.TokenIds;
import dev.expertmesh.proto.TokenLogprob;
import dev.expertmesh.sampling.SamplingParams;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.ClientResponseObserver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The coordinator's gRPC API on a whole cluster on loopback (a coordinator, two expert workers and
 * an attention worker, each with its own Hazelcast member and server): many clients at once, whom
 * continuous batching, chunked prefill and preemption must not change anything for; cancellation,
 * deadlines, overload, bad fields; the standard health and reflection services.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ServingApiTest {
    private static final String MODEL = "tiny-v2-lite";
    private static final int CLIENTS = 64;
    private static final int MAX_TOKENS = 12;
    /** Blocks of 16 tokens for 16 running sequences of the longest prompt here: fewer than 64 clients need, so some wait and some are preempted. */
    private static final int CACHE_BLOCKS = 48;
    private static final SchedulerLimits LIMITS = new SchedulerLimits(16, 64, 100);

    private LoopbackCluster cluster;
    private CoordinatorNode coordinator;
    private ModelConfig config;
    private ManagedChannel channel;

    @BeforeAll
    void startCluster() throws Exception {
        cluster = new LoopbackCluster(MODEL, false, LIMITS, CACHE_BLOCKS);
        coordinator = cluster.coordinator();
        config = cluster.config();
        channel = ManagedChannelBuilder.forTarget(cluster.address()).usePlaintext().build();
    }

    @AfterAll
    void stopCluster() throws Exception {
        if (channel != null) {
            channel.shutdownNow();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    /** The fixture prompts and prefixes of the longest, 64 in all. */
    private static List<int[]> prompts() {
        try (var golden = Fixtures.golden(MODEL)) {
            List<int[]> prompts = new ArrayList<>();
            for (int p = 0; p < 4; p++) {
                prompts.add(golden.ints("p" + p + ".input_ids"));
            }
            int[] longest = golden.ints("p3.input_ids");
            for (int i = 0; prompts.size() < CLIENTS; i++) {
                prompts.add(Arrays.copyOf(longest, 2 + i * 7 % (longest.length - 2)));
            }
            return prompts;
        }
    }

    private static GenerateRequest greedy(int[] prompt, int maxTokens) {
        return GenerateRequest.newBuilder()
                .setPromptIds(TokenIds.newBuilder().addAllIds(Arrays.stream(prompt).boxed().toList()))
                .setMaxTokens(maxTokens)
                .build();
    }

    /** A greedy request without max_tokens or eos: it runs until the context is full. */
    private static GenerateRequest untilTheContextIsFull(int[] prompt) {
        return GenerateRequest.newBuilder()
                .setPromptIds(TokenIds.newBuilder().addAllIds(Arrays.stream(prompt).boxed().toList()))
                .setIgnoreEos(true)
                .build();
    }

    /** What one streaming client saw: its tokens and how the call ended. */
    private record Stream(List<Integer> tokens, CompletableFuture<Status> end) {
    }

    private Stream stream(GenerateRequest request) {
        Stream stream = new Stream(java.util.Collections.synchronizedList(new ArrayList<>()), new CompletableFuture<>());
        InferenceGrpc.newStub(channel).withDeadlineAfter(120, TimeUnit.SECONDS).generate(request, new io.grpc.stub.StreamObserver<>() {
            @Override
            public void onNext(GenerateResponse response) {
                stream.tokens().addAll(response.getTokenIdsList());
            }

            @Override
            public void onError(Throwable t) {
                stream.end().complete(Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
                stream.end().complete(Status.OK);
            }
        });
        return stream;
    }

    @Test
    void everyConcurrentGreedyStreamIsTheSingleProcessGenerationOfItsPromptAlone() throws Exception {
        List<int[]> prompts = prompts();
        List<List<Integer>> expected = new ArrayList<>();
        try (Engine alone = Engine.load(Fixtures.model(MODEL), new CpuBackend())) {
            for (int[] prompt : prompts) {
                expected.add(Arrays.stream(alone.generate(new GenerationRequest(prompt, SamplingParams.GREEDY, MAX_TOKENS)).tokenIds())
                        .boxed().toList());
            }
        }
        List<Stream> streams = prompts.stream().map(p -> stream(greedy(p, MAX_TOKENS))).toList();
        for (int i = 0; i < CLIENTS; i++) {
            assertThat(streams.get(i).end().get(120, TimeUnit.SECONDS).getCode()).as("client %d's status", i).isEqualTo(Status.Code.OK);
            assertThat(streams.get(i).tokens()).as("client %d (prompt of %d tokens)", i, prompts.get(i).length)
                    .containsExactlyElementsOf(expected.get(i));
        }
        assertThat(coordinator.generation().scheduler().cacheUsage().usedBlocks()).isZero();
    }

    @Test
    void aCancelledStreamFreesItsBlocks() throws Exception {
        CountDownLatch firstToken = new CountDownLatch(1);
        CompletableFuture<Void> cancelled = new CompletableFuture<>();
        InferenceGrpc.newStub(channel).generate(untilTheContextIsFull(prompts().get(3)),
                new ClientResponseObserver<GenerateRequest, GenerateResponse>() {
                    private ClientCallStreamObserver<GenerateRequest> call;

                    @Override
                    public void beforeStart(ClientCallStreamObserver<GenerateRequest> requestStream) {
                        call = requestStream;
                    }

                    @Override
                    public void onNext(GenerateResponse response) {
                        if (firstToken.getCount() > 0) {
                            firstToken.countDown();
                            call.cancel("the client has seen enough", null);
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        cancelled.complete(null);
                    }

                    @Override
                    public void onCompleted() {
                        cancelled.completeExceptionally(new AssertionError("the context filled up: the cancellation did not reach the server"));
                    }
                });
        assertThat(firstToken.await(60, TimeUnit.SECONDS)).isTrue();
        cancelled.get(60, TimeUnit.SECONDS);
        cluster.awaitIdle();
    }

    @Test
    void requestsBeyondTheWaitingLimitAreRefusedAndTheRestServed() throws Exception {
        int burst = LIMITS.maxRunningRequests() + LIMITS.maxWaitingRequests() + 300;
        int[] prompt = prompts().get(1);
        List<Stream> streams = new ArrayList<>();
        for (int i = 0; i < burst; i++) {
            streams.add(stream(greedy(prompt, 2)));
        }
        int served = 0;
        int refused = 0;
        for (Stream s : streams) {
            Status status = s.end().get(120, TimeUnit.SECONDS);
            switch (status.getCode()) {
                case OK -> {
                    served++;
                    assertThat(s.tokens()).hasSize(2);
                }
                case RESOURCE_EXHAUSTED -> {
                    refused++;
                    assertThat(status.getDescription()).contains("requests are already waiting");
                }
                default -> throw new AssertionError("unexpected status " + status);
            }
        }
        assertThat(refused).as("refused").isPositive();
        assertThat(served).as("served").isGreaterThanOrEqualTo(LIMITS.maxWaitingRequests());
        assertThat(coordinator.generation().scheduler().cacheUsage().usedBlocks()).isZero();
    }

    @Test
    void aDeadlinePassingMidStreamEndsTheCallAndFreesItsBlocks() throws Exception {
        long start = System.nanoTime();
        InferenceGrpc.newBlockingStub(channel).generate(untilTheContextIsFull(prompts().get(3))).forEachRemaining(r -> { });
        // A quarter of what filling the context takes: the deadline passes mid-stream however fast the cluster is.
        var blocking = InferenceGrpc.newBlockingStub(channel).withDeadlineAfter((System.nanoTime() - start) / 4, TimeUnit.NANOSECONDS);
        assertThatThrownBy(() -> blocking.generate(untilTheContextIsFull(prompts().get(3))).forEachRemaining(r -> { }))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
        cluster.awaitIdle();
    }

    @Test
    void logprobsAndStopTokenIdsAreHonoured() {
        int[] prompt = prompts().get(1);
        List<GenerateResponse> free = new ArrayList<>();
        InferenceGrpc.newBlockingStub(channel).generate(greedy(prompt, 3).toBuilder().setLogprobs(2).build()).forEachRemaining(free::add);
        List<Integer> tokens = free.stream().flatMap(r -> r.getTokenIdsList().stream()).toList();
        List<TokenLogprob> logprobs = free.stream().flatMap(r -> r.getLogprobsList().stream()).toList();
        assertThat(tokens).hasSize(3);
        assertThat(logprobs).extracting(TokenLogprob::getTokenId).containsExactlyElementsOf(tokens);
        assertThat(logprobs).allSatisfy(lp -> {
            assertThat(lp.getLogprob()).isNegative();
            assertThat(lp.getTopList()).hasSize(2);
            assertThat(lp.getTop(0).getTokenId()).as("greedy picks the most likely").isEqualTo(lp.getTokenId());
        });
        assertThat(free.getLast().getFinish().getReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);

        List<GenerateResponse> stopped = new ArrayList<>();
        InferenceGrpc.newBlockingStub(channel).generate(greedy(prompt, 3).toBuilder().addStopTokenIds(tokens.get(1)).build())
                .forEachRemaining(stopped::add);
        assertThat(stopped.stream().flatMap(r -> r.getTokenIdsList().stream()).toList()).containsExactlyElementsOf(tokens.subList(0, 2));
        Finish finish = stopped.getLast().getFinish();
        assertThat(finish.getReason()).isEqualTo(FinishReason.FINISH_REASON_STOP);
        assertThat(finish.getUsage().getPromptTokens()).isEqualTo(prompt.length);
        assertThat(finish.getUsage().getCompletionTokens()).isEqualTo(2);
    }

    @Test
    void badFieldsAreRefusedWithInvalidArgumentNamingTheField() {
        int[] prompt = prompts().get(1);
        assertRefused(greedy(prompt, 4).toBuilder().setTemperature(-1).build(), "temperature");
        assertRefused(greedy(prompt, 4).toBuilder().setTopP(1.5).build(), "top_p");
        assertRefused(greedy(prompt, 0), "max_tokens");
        assertRefused(greedy(prompt, config.maxPositionEmbeddings()), "max_tokens");
        assertRefused(greedy(prompt, 4).toBuilder().setLogprobs(21).build(), "logprobs");
        assertRefused(greedy(new int[]{config.vocabSize()}, 4), "prompt");
        assertRefused(greedy(prompt, 4).toBuilder().setModel("gpt-4").build(), "model");
        assertRefused(GenerateRequest.newBuilder().setPrompt("Hello").build(), "no tokenizer");
        assertRefused(GenerateRequest.newBuilder().setMaxTokens(4).build(), "input");
    }

    private void assertRefused(GenerateRequest request, String named) {
        assertThatThrownBy(() -> InferenceGrpc.newBlockingStub(channel).generate(request).forEachRemaining(r -> { }))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains(named);
                });
    }

    @Test
    void listModelsHealthAndReflectionAnswer() throws Exception {
        ModelCard model = InferenceGrpc.newBlockingStub(channel).listModels(ListModelsRequest.getDefaultInstance()).getModels(0);
        assertThat(model.getId()).isEqualTo(MODEL);
        assertThat(model.getMaxModelLen()).isEqualTo(config.maxPositionEmbeddings());

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        HealthCheckResponse.ServingStatus health;
        do {
            health = HealthGrpc.newBlockingStub(channel).check(HealthCheckRequest.getDefaultInstance()).getStatus();
        } while (health != HealthCheckResponse.ServingStatus.SERVING && System.nanoTime() < deadline);
        assertThat(health).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);

        CompletableFuture<List<String>> services = new CompletableFuture<>();
        var reflection = ServerReflectionGrpc.newStub(channel).serverReflectionInfo(new io.grpc.stub.StreamObserver<>() {
            @Override
            public void onNext(ServerReflectionResponse response) {
                services.complete(response.getListServicesResponse().getServiceList().stream().map(ServiceResponse::getName).toList());
            }

            @Override
            public void onError(Throwable t) {
                services.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
            }
        });
        reflection.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
        assertThat(services.get(10, TimeUnit.SECONDS)).contains("expertmesh.v1.Inference", "grpc.health.v1.Health");
        reflection.onCompleted();
    }
}
