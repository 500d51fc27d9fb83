package dev.expertmesh.client;

import dev.expertmesh.proto.GenerateResponse;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Failover, deadlines, cancellation and errors against scripted coordinators on loopback ports. */
class FailoverTest {
    private static ExpertMeshClient client(String... addresses) {
        return ExpertMeshClient.builder().addresses(List.of(addresses)).build();
    }

    @Test
    void aNewRequestMovesPastAnUnreachableCoordinator() throws Exception {
        try (var up = new ScriptedCoordinator("up", ScriptedCoordinator::echo);
             var client = client(closedPortAddress(), up.address())) {
            Completion c = client.complete(GenerationRequest.tokenIds(3, 1, 4));
            assertThat(c.tokenIds()).containsExactly(3, 1, 4);
            assertThat(c.text()).isEqualTo("<3><1><4>");
            assertThat(c.finish().reason()).isEqualTo(FinishReason.LENGTH);
            assertThat(c.finish().usage()).isEqualTo(new Usage(3, 3));
            assertThat(client.listModels()).extracting(ModelInfo::id).containsExactly("up");
        }
    }

    @Test
    void requestsStartAtEachCoordinatorInTurn() throws Exception {
        try (var a = new ScriptedCoordinator("a", ScriptedCoordinator::echo);
             var b = new ScriptedCoordinator("b", ScriptedCoordinator::echo);
             var client = client(a.address(), b.address())) {
            for (int i = 0; i < 4; i++) {
                client.complete(GenerationRequest.tokenIds(i));
                client.listModels();
            }
            assertThat(a.generateCalls.get() + a.listModelsCalls.get()).isEqualTo(4);
            assertThat(b.generateCalls.get() + b.listModelsCalls.get()).isEqualTo(4);
        }
    }

    @Test
    void aRequestThatHadAResponseIsNeverSentAgain() throws Exception {
        try (var failing = new ScriptedCoordinator("failing", (request, responses) -> {
            responses.onNext(GenerateResponse.newBuilder().setText("x").addTokenIds(7).build());
            responses.onError(Status.UNAVAILABLE.withDescription("worker gone").asRuntimeException());
        });
             var spare = new ScriptedCoordinator("spare", ScriptedCoordinator::echo);
             var client = client(failing.address(), spare.address());
             var stream = client.generate(GenerationRequest.tokenIds(1, 2))) {
            assertThat(stream.next().tokenIds()).containsExactly(7);
            assertThatThrownBy(stream::hasNext).isInstanceOfSatisfying(ExpertMeshException.class, e -> {
                assertThat(e.code()).isEqualTo(Status.Code.UNAVAILABLE);
                assertThat(e.serverMessage()).contains("worker gone");
                assertThat(e.getMessage()).contains(failing.address()).contains("worker gone");
            });
            assertThat(spare.generateCalls.get()).isZero();
        }
    }

    @Test
    void invalidArgumentIsNotRetriedAndCarriesTheServersMessage() throws Exception {
        String why = "max_tokens: max_tokens must be at least 1, got 0";
        try (var refusing = new ScriptedCoordinator("refusing",
                (request, responses) -> responses.onError(Status.INVALID_ARGUMENT.withDescription(why).asRuntimeException()));
             var spare = new ScriptedCoordinator("spare", ScriptedCoordinator::echo);
             var client = client(refusing.address(), spare.address())) {
            assertThatThrownBy(() -> client.complete(GenerationRequest.tokenIds(1).maxTokens(0)))
                    .isInstanceOfSatisfying(ExpertMeshException.class, e -> {
                        assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                        assertThat(e.getMessage()).isEqualTo(why);
                    });
            assertThat(spare.generateCalls.get()).isZero();
        }
    }

    @Test
    void noReachableCoordinatorIsOneClearError() throws Exception {
        String first = closedPortAddress();
        String second = closedPortAddress();
        try (var client = client(first, second)) {
            assertThatThrownBy(() -> client.complete(GenerationRequest.tokenIds(1)))
                    .isInstanceOfSatisfying(ExpertMeshException.class, e -> {
                        assertThat(e.code()).isEqualTo(Status.Code.UNAVAILABLE);
                        assertThat(e.getMessage()).startsWith("cannot reach the coordinator at ").contains(first).contains(second);
                    });
            assertThatThrownBy(client::listModels).isInstanceOf(ExpertMeshException.class).hasMessageContaining(second);
        }
    }

    @Test
    void aRequestDeadlineOverridesTheClientsAndEndsASilentCall() throws Exception {
        try (var silent = new ScriptedCoordinator("silent", (request, responses) -> { });
             var client = ExpertMeshClient.builder().address(silent.address()).defaultDeadline(Duration.ofMinutes(5)).build()) {
            long start = System.nanoTime();
            assertThatThrownBy(() -> client.complete(GenerationRequest.tokenIds(1).deadline(Duration.ofMillis(300))))
                    .isInstanceOfSatisfying(ExpertMeshException.class, e -> assertThat(e.code()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(30));
        }
    }

    @Test
    void cancellingAnAsyncGenerationReachesTheServerAndTheListener() throws Exception {
        CompletableFuture<Void> serverSawCancel = new CompletableFuture<>();
        try (var endless = new ScriptedCoordinator("endless", (request, responses) -> {
            ((ServerCallStreamObserver<GenerateResponse>) responses).setOnCancelHandler(() -> serverSawCancel.complete(null));
            responses.onNext(GenerateResponse.newBuilder().addTokenIds(5).build());
        });
             var client = client(endless.address())) {
            CountDownLatch firstDelta = new CountDownLatch(1);
            CompletableFuture<ExpertMeshException> error = new CompletableFuture<>();
            GenerationHandle handle = client.generateAsync(GenerationRequest.tokenIds(1), new GenerationListener() {
                @Override
                public void onDelta(GenerationDelta delta) {
                    firstDelta.countDown();
                }

                @Override
                public void onFinish(Finish finish) {
                    error.completeExceptionally(new AssertionError("finished: " + finish));
                }

                @Override
                public void onError(ExpertMeshException e) {
                    error.complete(e);
                }
            });
            assertThat(firstDelta.await(10, TimeUnit.SECONDS)).isTrue();
            handle.cancel();
            assertThat(error.get(10, TimeUnit.SECONDS).code()).isEqualTo(Status.Code.CANCELLED);
            serverSawCancel.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aListenerHearsNothingAfterTheFinish() throws Exception {
        try (var flaky = new ScriptedCoordinator("flaky", (request, responses) -> {
            ScriptedCoordinator.echo(request, new StreamObserver<>() {
                @Override
                public void onNext(GenerateResponse response) {
                    responses.onNext(response);
                }

                @Override
                public void onError(Throwable t) {
                    responses.onError(t);
                }

                @Override
                public void onCompleted() {
                    // The connection breaks after the finish message instead of the call ending.
                    responses.onError(Status.INTERNAL.withDescription("connection reset").asRuntimeException());
                }
            });
        });
             var client = client(flaky.address())) {
            List<String> heard = new CopyOnWriteArrayList<>();
            CompletableFuture<Void> finished = new CompletableFuture<>();
            client.generateAsync(GenerationRequest.tokenIds(4, 2), new GenerationListener() {
                @Override
                public void onDelta(GenerationDelta delta) {
                    heard.add("delta");
                }

                @Override
                public void onFinish(Finish finish) {
                    heard.add("finish");
                    finished.complete(null);
                }

                @Override
                public void onError(ExpertMeshException e) {
                    heard.add("error " + e.code());
                }
            });
            finished.get(10, TimeUnit.SECONDS);
            Thread.sleep(200);
            assertThat(heard).containsExactly("delta", "delta", "finish");
        }
    }

    @Test
    void anAddressWithoutAPortIsRefusedWhenTheClientIsBuilt() {
        assertThatThrownBy(() -> client("localhost")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("HOST:PORT");
    }

    /** An address nothing listens on: connecting to it is refused. */
    private static String closedPortAddress() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return "127.0.0.1:" + socket.getLocalPort();
        }
    }
}
