package dev.expertmesh.client;

import dev.expertmesh.proto.ClusterStatus;
import dev.expertmesh.proto.InferenceGrpc;
import dev.expertmesh.proto.ListModelsRequest;
import dev.expertmesh.proto.RebalanceRequest;
import dev.expertmesh.proto.RebalanceResponse;
import dev.expertmesh.proto.StatusRequest;
import io.grpc.CallCredentials;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A client of the {@code expertmesh.v1.Inference} API of one or several coordinators. Thread-safe:
 * one client serves any number of concurrent requests. Each new request starts at the next
 * coordinator in turn and moves on to the next one while a coordinator is unavailable; a request
 * that has had a response is never sent again. Every failure is an {@link ExpertMeshException}.
 *
 * <pre>{@code
 * try (ExpertMeshClient client = ExpertMeshClient.builder().address("127.0.0.1:50051").build();
 *      GenerationStream stream = client.generate(GenerationRequest.prompt("Hello").maxTokens(32))) {
 *     for (GenerationDelta delta : stream) {
 *         System.out.print(delta.text());
 *     }
 *     System.out.println(" [" + stream.finish().reason() + "]");
 * }
 * }</pre>
 */
public final class ExpertMeshClient implements AutoCloseable {
    private final Coordinators coordinators;
    private final Optional<String> defaultModel;
    private final Optional<Duration> defaultDeadline;
    /** Null: none. */
    private final CallCredentials credentials;

    private ExpertMeshClient(Builder builder) {
        this.coordinators = new Coordinators(builder.addresses, builder.plaintext, builder.trustedCa);
        this.defaultModel = builder.defaultModel;
        this.defaultDeadline = builder.defaultDeadline;
        this.credentials = builder.apiKey.map(ApiKeyCredentials::new).orElse(null);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Starts a generation and returns its deltas, read as they arrive; closing the stream early cancels it. */
    public GenerationStream generate(GenerationRequest request) {
        return new GenerationStream(coordinators, credentials, Messages.generateRequest(request, defaultModel), deadline(request.deadline()));
    }

    /** Starts a generation whose deltas, finish or error go to {@code listener}. */
    public GenerationHandle generateAsync(GenerationRequest request, GenerationListener listener) {
        return new GenerateCall(coordinators, credentials, Messages.generateRequest(request, defaultModel), deadline(request.deadline()),
                listener).begin();
    }

    /** Generates and waits for the whole text. */
    public Completion complete(GenerationRequest request) {
        StringBuilder text = new StringBuilder();
        List<Integer> tokenIds = new ArrayList<>();
        try (GenerationStream stream = generate(request)) {
            for (GenerationDelta delta : stream) {
                text.append(delta.text());
                tokenIds.addAll(delta.tokenIds());
            }
            return new Completion(text.toString(), tokenIds, stream.finish());
        }
    }

    /** The token ids the served model's tokenizer gives for {@code text}. */
    public List<Integer> tokenize(String text) {
        return tokenize(new Prompt.Text(text));
    }

    /** The token ids of {@code messages} rendered by the served model's chat template. */
    public List<Integer> tokenize(List<ChatMessage> messages) {
        return tokenize(new Prompt.Chat(messages));
    }

    private List<Integer> tokenize(Prompt prompt) {
        return unary(stub -> stub.tokenize(Messages.tokenizeRequest(prompt, defaultModel)).getTokenIdsList());
    }

    public List<ModelInfo> listModels() {
        return unary(stub -> stub.listModels(ListModelsRequest.getDefaultInstance()).getModelsList().stream().map(Messages::model).toList());
    }

    /** Members, the shard map and the tokens routed to each expert. */
    public ClusterStatus status() {
        return unary(stub -> stub.status(StatusRequest.getDefaultInstance()));
    }

    /** Has the coordinator place the experts again on the loads routed so far (served once its workers have loaded it). */
    public RebalanceResponse rebalance() {
        return unary(stub -> stub.rebalance(RebalanceRequest.getDefaultInstance()));
    }

    /** A unary call, sent to the next coordinator while one is unavailable. */
    private <T> T unary(Function<InferenceGrpc.InferenceBlockingStub, T> call) {
        Deadline deadline = deadline(Optional.empty());
        int start = coordinators.start();
        for (int attempt = 0; ; attempt++) {
            Coordinators.Coordinator coordinator = coordinators.get(start, attempt);
            InferenceGrpc.InferenceBlockingStub stub = InferenceGrpc.newBlockingStub(coordinator.channel()).withCallCredentials(credentials);
            try {
                return call.apply(deadline == null ? stub : stub.withDeadline(deadline));
            } catch (StatusRuntimeException e) {
                boolean unavailable = e.getStatus().getCode() == Status.Code.UNAVAILABLE;
                if (unavailable && attempt + 1 < coordinators.size()) {
                    continue;
                }
                throw ExpertMeshException.of(e, unavailable ? coordinators.addresses() : coordinator.address());
            }
        }
    }

    /** The request's deadline, else the client's, from now; null for none. */
    private Deadline deadline(Optional<Duration> requested) {
        return requested.or(() -> defaultDeadline).map(d -> Deadline.after(d.toNanos(), TimeUnit.NANOSECONDS)).orElse(null);
    }

    @Override
    public void close() {
        coordinators.close();
    }

    /** What a client connects to and its defaults. */
    public static final class Builder {
        private final List<String> addresses = new ArrayList<>();
        private Optional<String> defaultModel = Optional.empty();
        private Optional<Duration> defaultDeadline = Optional.empty();
        private Optional<String> apiKey = Optional.empty();
        private boolean plaintext = true;
        private Optional<Path> trustedCa = Optional.empty();

        private Builder() {
        }

        /** A coordinator's gRPC address, HOST:PORT; each call adds one. */
        public Builder address(String hostPort) {
            addresses.add(hostPort);
            return this;
        }

        public Builder addresses(Collection<String> hostPorts) {
            addresses.addAll(hostPorts);
            return this;
        }

        /** The model requests name when they name none; unset, the coordinator's one model. */
        public Builder defaultModel(String name) {
            defaultModel = Optional.of(name);
            return this;
        }

        /** The time a call may take when its request sets none; unset, no deadline. */
        public Builder defaultDeadline(Duration deadline) {
            defaultDeadline = Optional.of(deadline);
            return this;
        }

        /** The key of the coordinators' api-key-file that every call carries; unset, none (the coordinators' APIs are open). */
        public Builder apiKey(String key) {
            apiKey = Optional.of(key);
            return this;
        }

        /** Plaintext (the default: coordinators serve plaintext gRPC) or TLS. */
        public Builder plaintext(boolean plain) {
            plaintext = plain;
            return this;
        }

        /** TLS, trusting the CA certificates of this PEM file, such as the ca.pem of `expertmesh certs`. */
        public Builder trustedCa(Path caPem) {
            trustedCa = Optional.of(caPem);
            return this;
        }

        public ExpertMeshClient build() {
            return new ExpertMeshClient(this);
        }
    }
}
