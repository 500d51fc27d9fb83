package dev.expertmesh.launcher;

import dev.expertmesh.engine.FinishReason;
import dev.expertmesh.engine.Generation;
import dev.expertmesh.engine.GenerationRequest;
import dev.expertmesh.engine.TokenSink;
import dev.expertmesh.proto.ClusterStatus;
import dev.expertmesh.proto.GenerateRequest;
import dev.expertmesh.proto.GenerateResponse;
import dev.expertmesh.proto.InferenceGrpc;
import dev.expertmesh.proto.StatusRequest;
import dev.expertmesh.proto.TokenIds;
import dev.expertmesh.sampling.SamplingParams;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The launcher's client of a coordinator's gRPC API. */
final class CoordinatorClient implements AutoCloseable {
    private final String target;
    private final ManagedChannel channel;

    CoordinatorClient(String target) {
        this.target = target;
        this.channel = ManagedChannelBuilder.forTarget(target).usePlaintext().build();
    }

    /** Generates on the cluster, handing each token to {@code sink} as it arrives. */
    Generation generate(GenerationRequest request, TokenSink sink) {
        SamplingParams s = request.sampling();
        GenerateRequest.Builder call = GenerateRequest.newBuilder()
                .setPromptIds(TokenIds.newBuilder().addAllIds(Arrays.stream(request.promptIds()).boxed().toList()))
                .setMaxTokens(request.maxTokens())
                .setTemperature(s.temperature()).setTopK(s.topK()).setTopP(s.topP());
        if (s.seed() != null) {
            call.setSeed(s.seed());
        }
        List<Integer> tokens = new ArrayList<>();
        try {
            Iterator<GenerateResponse> responses = InferenceGrpc.newBlockingStub(channel).generate(call.build());
            while (responses.hasNext()) {
                GenerateResponse response = responses.next();
                for (int token : response.getTokenIdsList()) {
                    tokens.add(token);
                    sink.accept(0, token);
                }
                if (response.hasFinish()) {
                    FinishReason reason = response.getFinish().getReason() == dev.expertmesh.proto.FinishReason.FINISH_REASON_STOP
                            ? FinishReason.STOP : FinishReason.LENGTH;
                    return new Generation(tokens.stream().mapToInt(Integer::intValue).toArray(), reason,
                            response.getFinish().getUsage().getPromptTokens());
                }
            }
            throw new IllegalStateException("the coordinator at " + target + " ended the stream without a finish reason");
        } catch (StatusRuntimeException e) {
            throw failure(e);
        }
    }

    ClusterStatus status() {
        try {
            return InferenceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS).status(StatusRequest.getDefaultInstance());
        } catch (StatusRuntimeException e) {
            throw failure(e);
        }
    }

    /** A one-line error: the coordinator's own message, or why it could not be reached. */
    private IllegalArgumentException failure(StatusRuntimeException e) {
        String why = e.getStatus().getDescription() != null ? e.getStatus().getDescription() : e.getStatus().getCode().toString();
        boolean unreachable = e.getStatus().getCause() instanceof IOException || "io exception".equals(why);
        return new IllegalArgumentException(switch (e.getStatus().getCode()) {
            case UNAVAILABLE -> unreachable
                    ? "cannot reach the coordinator at " + target + " (is it running, and is this its gRPC address?)"
                    : "coordinator " + target + " unavailable: " + why;
            case INVALID_ARGUMENT -> why;
            default -> "coordinator " + target + ": " + why;
        }, e);
    }

    @Override
    public void close() {
        channel.shutdownNow();
    }
}
