package dev.expertmesh.client;

import dev.expertmesh.proto.Finish;
import dev.expertmesh.proto.GenerateRequest;
import dev.expertmesh.proto.GenerateResponse;
import dev.expertmesh.proto.InferenceGrpc;
import dev.expertmesh.proto.ListModelsRequest;
import dev.expertmesh.proto.ListModelsResponse;
import dev.expertmesh.proto.ModelCard;
import dev.expertmesh.proto.Usage;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

/** A gRPC server on a loopback port whose Generate does what the test scripts, counting the calls it gets. */
final class ScriptedCoordinator implements AutoCloseable {
    final AtomicInteger generateCalls = new AtomicInteger();
    final AtomicInteger listModelsCalls = new AtomicInteger();
    private final Server server;

    ScriptedCoordinator(String name, BiConsumer<GenerateRequest, StreamObserver<GenerateResponse>> generate) throws IOException {
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(new InferenceGrpc.InferenceImplBase() {
            @Override
            public void generate(GenerateRequest request, StreamObserver<GenerateResponse> responses) {
                generateCalls.incrementAndGet();
                generate.accept(request, responses);
            }

            @Override
            public void listModels(ListModelsRequest request, StreamObserver<ListModelsResponse> responses) {
                listModelsCalls.incrementAndGet();
                responses.onNext(ListModelsResponse.newBuilder().addModels(ModelCard.newBuilder().setId(name)).build());
                responses.onCompleted();
            }
        }).build().start();
    }

    String address() {
        return "127.0.0.1:" + server.getPort();
    }

    /** Answers with the request's prompt ids echoed back one token a message, then a LENGTH finish. */
    static void echo(GenerateRequest request, StreamObserver<GenerateResponse> responses) {
        List<Integer> ids = request.getPromptIds().getIdsList();
        for (int id : ids) {
            responses.onNext(GenerateResponse.newBuilder().setText("<" + id + ">").addTokenIds(id).build());
        }
        responses.onNext(GenerateResponse.newBuilder().setFinish(Finish.newBuilder()
                .setReason(dev.expertmesh.proto.FinishReason.FINISH_REASON_LENGTH)
                .setUsage(Usage.newBuilder().setPromptTokens(ids.size()).setCompletionTokens(ids.size()))).build());
        responses.onCompleted();
    }

    @Override
    public void close() throws InterruptedException {
        server.shutdownNow().awaitTermination();
    }
}
