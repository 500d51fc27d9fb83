package dev.expertmesh.coordinator.api;

import dev.expertmesh.coordinator.serving.Completion;
import dev.expertmesh.coordinator.serving.CompletionDelta;
import dev.expertmesh.coordinator.serving.CompletionInput;
import dev.expertmesh.coordinator.serving.CompletionListener;
import dev.expertmesh.coordinator.serving.CompletionRequest;
import dev.expertmesh.coordinator.serving.InvalidRequestException;
import dev.expertmesh.coordinator.serving.ServedModel;
import dev.expertmesh.coordinator.serving.TextGeneration;
import dev.expertmesh.engine.FinishReason;
import dev.expertmesh.engine.QueueFullException;
import dev.expertmesh.engine.Submission;
import dev.expertmesh.proto.ChatMessages;
import dev.expertmesh.proto.ClusterStatus;
import dev.expertmesh.proto.Finish;
import dev.expertmesh.proto.GenerateRequest;
import dev.expertmesh.proto.GenerateResponse;
import dev.expertmesh.proto.InferenceGrpc;
import dev.expertmesh.proto.ListModelsRequest;
import dev.expertmesh.proto.ListModelsResponse;
import dev.expertmesh.proto.ModelCard;
import dev.expertmesh.proto.RebalanceRequest;
import dev.expertmesh.proto.RebalanceResponse;
import dev.expertmesh.proto.StatusRequest;
import dev.expertmesh.proto.TokenLogprob;
import dev.expertmesh.proto.TokenizeRequest;
import dev.expertmesh.proto.TokenizeResponse;
import dev.expertmesh.proto.TopLogprob;
import dev.expertmesh.proto.Usage;
import dev.expertmesh.sampling.TokenLogprob.Alternative;
import dev.expertmesh.tokenizer.ChatMessage;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.Supplier;

/** The coordinator's gRPC API: the proto's messages to and from {@link TextGeneration}. */
public final class InferenceService extends InferenceGrpc.InferenceImplBase {
    private static final Logger log = LoggerFactory.getLogger(InferenceService.class);

    private final TextGeneration generation;
    private final Supplier<ClusterStatus> status;
    private final Supplier<RebalanceResponse> rebalance;

    /** {@code status} and {@code rebalance} throw IllegalStateException while the coordinator is starting. */
    public InferenceService(TextGeneration generation, Supplier<ClusterStatus> status, Supplier<RebalanceResponse> rebalance) {
        this.rebalance = rebalance;
        this.generation = generation;
        this.status = status;
    }

    @Override
    public void generate(GenerateRequest request, StreamObserver<GenerateResponse> responses) {
        ServerCallStreamObserver<GenerateResponse> call = (ServerCallStreamObserver<GenerateResponse>) responses;
        Submission submission;
        try {
            submission = generation.submit(completionRequest(request), new Streamed(call));
        } catch (RuntimeException e) {
            responses.onError(statusOf(e));
            return;
        }
        // A client that cancels or whose deadline passes frees the request's cache blocks at the next step.
        call.setOnCancelHandler(submission::cancel);
        if (call.isCancelled()) {
            submission.cancel();
        }
    }

    private static CompletionRequest completionRequest(GenerateRequest r) {
        return new CompletionRequest(input(r),
                r.getModel(),
                r.hasMaxTokens() ? OptionalInt.of(r.getMaxTokens()) : OptionalInt.empty(),
                TextGeneration.sampling(r.getTemperature(), r.hasTopP() ? r.getTopP() : null, r.getTopK(), r.hasSeed() ? r.getSeed() : null),
                r.getStopList(),
                Set.copyOf(r.getStopTokenIdsList()),
                r.getIgnoreEos(),
                r.hasLogprobs() ? OptionalInt.of(r.getLogprobs()) : OptionalInt.empty());
    }

    private static CompletionInput input(GenerateRequest r) {
        return switch (r.getInputCase()) {
            case PROMPT -> new CompletionInput.Text(r.getPrompt());
            case CHAT -> chat(r.getChat());
            case PROMPT_IDS -> new CompletionInput.Ids(r.getPromptIds().getIdsList().stream().mapToInt(Integer::intValue).toArray());
            case INPUT_NOT_SET -> throw new InvalidRequestException("input", "give the input as prompt, chat or prompt_ids");
        };
    }

    private static CompletionInput input(TokenizeRequest r) {
        return switch (r.getInputCase()) {
            case PROMPT -> new CompletionInput.Text(r.getPrompt());
            case CHAT -> chat(r.getChat());
            case INPUT_NOT_SET -> throw new InvalidRequestException("input", "give the input as prompt or chat");
        };
    }

    private static CompletionInput chat(ChatMessages chat) {
        try {
            return new CompletionInput.Chat(chat.getMessagesList().stream().map(m -> new ChatMessage(m.getRole(), m.getContent())).toList());
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("chat", e.getMessage());
        }
    }

    /** Sends each delta as a message, then the finish; or the failure as the call's status. */
    private record Streamed(ServerCallStreamObserver<GenerateResponse> call) implements CompletionListener {
        @Override
        public void delta(CompletionDelta delta) {
            if (call.isCancelled()) {
                return;
            }
            GenerateResponse.Builder message = GenerateResponse.newBuilder()
                    .setText(delta.text())
                    .addAllTokenIds(Arrays.stream(delta.tokenIds()).boxed().toList());
            delta.logprobs().forEach(lp -> message.addLogprobs(TokenLogprob.newBuilder()
                    .setTokenId(lp.tokenId()).setLogprob(lp.logprob())
                    .addAllTop(lp.top().stream().map(InferenceService::topLogprob).toList())));
            call.onNext(message.build());
        }

        @Override
        public void finished(Completion completion) {
            if (call.isCancelled()) {
                return;
            }
            call.onNext(GenerateResponse.newBuilder().setFinish(Finish.newBuilder()
                    .setReason(completion.finishReason() == FinishReason.STOP
                            ? dev.expertmesh.proto.FinishReason.FINISH_REASON_STOP
                            : dev.expertmesh.proto.FinishReason.FINISH_REASON_LENGTH)
                    .setUsage(Usage.newBuilder().setPromptTokens(completion.promptTokens()).setCompletionTokens(completion.completionTokens()))
                    .setStop(completion.stop() == null ? "" : completion.stop()))
                    .build());
            call.onCompleted();
        }

        @Override
        public void failed(RuntimeException cause) {
            if (!call.isCancelled()) {
                call.onError(statusOf(cause));
            }
        }
    }

    private static TopLogprob topLogprob(Alternative a) {
        return TopLogprob.newBuilder().setTokenId(a.tokenId()).setLogprob(a.logprob()).build();
    }

    @Override
    public void tokenize(TokenizeRequest request, StreamObserver<TokenizeResponse> responses) {
        try {
            generation.checkModel(request.getModel());
            int[] ids = generation.tokenize(input(request));
            responses.onNext(TokenizeResponse.newBuilder().addAllTokenIds(Arrays.stream(ids).boxed().toList()).build());
            responses.onCompleted();
        } catch (RuntimeException e) {
            responses.onError(statusOf(e));
        }
    }

    @Override
    public void listModels(ListModelsRequest request, StreamObserver<ListModelsResponse> responses) {
        ServedModel m = generation.model();
        responses.onNext(ListModelsResponse.newBuilder().addModels(ModelCard.newBuilder()
                .setId(m.name()).setModelType(m.modelType()).setMaxModelLen(m.maxModelLen()).setVocabSize(m.vocabSize())).build());
        responses.onCompleted();
    }

    @Override
    public void status(StatusRequest request, StreamObserver<ClusterStatus> responses) {
        answer(status, responses);
    }

    @Override
    public void rebalance(RebalanceRequest request, StreamObserver<RebalanceResponse> responses) {
        answer(rebalance, responses);
    }

    private static <T> void answer(Supplier<T> call, StreamObserver<T> responses) {
        try {
            responses.onNext(call.get());
            responses.onCompleted();
        } catch (RuntimeException e) {
            responses.onError(statusOf(e));
        }
    }

    /** The gRPC status a failure maps to, with a one-line description. */
    private static StatusRuntimeException statusOf(RuntimeException e) {
        return switch (e) {
            case InvalidRequestException invalid -> Status.INVALID_ARGUMENT
                    .withDescription(invalid.field() == null ? invalid.getMessage() : invalid.field() + ": " + invalid.getMessage())
                    .asRuntimeException();
            case QueueFullException full -> Status.RESOURCE_EXHAUSTED.withDescription(full.getMessage()).asRuntimeException();
            case IllegalStateException notReady -> Status.UNAVAILABLE.withDescription(notReady.getMessage()).asRuntimeException();
            default -> {
                log.warn("Request failed", e);
                yield Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException();
            }
        };
    }
}
