package dev.expertmesh.coordinator.api;

import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.Generation;
import dev.expertmesh.engine.GenerationRequest;
import dev.expertmesh.proto.ClusterStatus;
import dev.expertmesh.proto.GenerateRequest;
import dev.expertmesh.proto.GenerateResponse;
import dev.expertmesh.proto.InferenceGrpc;
import dev.expertmesh.proto.Sampling;
import dev.expertmesh.proto.StatusRequest;
import dev.expertmesh.sampling.SamplingParams;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.function.Supplier;

/** The coordinator's gRPC API: Generate streams each token as the engine samples it. */
public final class InferenceService extends InferenceGrpc.InferenceImplBase {
    private static final Logger log = LoggerFactory.getLogger(InferenceService.class);

    private final Supplier<Engine> engine;
    private final Supplier<ClusterStatus> status;
    /** Requests take turns until continuous batching lands: one step at a time on the data plane. */
    private final Object oneRequestAtATime = new Object();

    /** {@code engine} gives the engine to run each request on, or throws IllegalStateException when there is none yet. */
    public InferenceService(Supplier<Engine> engine, Supplier<ClusterStatus> status) {
        this.engine = engine;
        this.status = status;
    }

    @Override
    public void generate(GenerateRequest request, StreamObserver<GenerateResponse> responses) {
        GenerationRequest generation;
        try {
            generation = new GenerationRequest(request.getPromptIdsList().stream().mapToInt(Integer::intValue).toArray(),
                    samplingParams(request.getSampling()), request.getMaxTokens());
        } catch (IllegalArgumentException e) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        try {
            Generation g;
            synchronized (oneRequestAtATime) {
                g = engine.get().generate(List.of(generation),
                        (r, token) -> responses.onNext(GenerateResponse.newBuilder().addTokenIds(token).build())).getFirst();
            }
            responses.onNext(GenerateResponse.newBuilder()
                    .setFinishReason(g.finishReason().apiName())
                    .setPromptTokens(g.promptTokens())
                    .build());
            responses.onCompleted();
        } catch (IllegalArgumentException e) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
        } catch (IllegalStateException e) {
            responses.onError(Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException());
        } catch (RuntimeException e) {
            log.warn("Generate failed", e);
            responses.onError(Status.UNAVAILABLE.withDescription(e.getMessage()).withCause(e).asRuntimeException());
        }
    }

    private static SamplingParams samplingParams(Sampling s) {
        return new SamplingParams(s.getTemperature(), s.getTopK(), s.getTopP() == 0 ? 1 : s.getTopP(),
                s.hasSeed() ? s.getSeed() : null);
    }

    @Override
    public void status(StatusRequest request, StreamObserver<ClusterStatus> responses) {
        ClusterStatus current;
        try {
            current = status.get();
        } catch (IllegalStateException e) {
            responses.onError(Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        responses.onNext(current);
        responses.onCompleted();
    }
}
