package dev.expertmesh.client;

import dev.expertmesh.proto.GenerateRequest;
import dev.expertmesh.proto.GenerateResponse;
import dev.expertmesh.proto.InferenceGrpc;
import io.grpc.CallCredentials;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One streaming Generate call, moved to the next coordinator while none has answered: UNAVAILABLE
 * before the first response means the caller has seen nothing of it (the coordinator may have begun
 * and lost it, but a generation has no effect beyond its output), so running it elsewhere shows no
 * token twice. Once a response has arrived, a failure goes to the listener, and after the finish
 * nothing more does.
 */
final class GenerateCall implements GenerationHandle {
    private static final Logger log = LoggerFactory.getLogger(GenerateCall.class);
    private static final String CANCELLED = "cancelled by the client";

    private final Coordinators coordinators;
    private final CallCredentials credentials;
    private final GenerateRequest request;
    private final Deadline deadline;
    private final GenerationListener listener;
    private final int start;
    private int attempt;
    private volatile ClientCallStreamObserver<GenerateRequest> call;
    private volatile boolean cancelled;

    /** {@code credentials}, {@code deadline} null: none. */
    GenerateCall(Coordinators coordinators, CallCredentials credentials, GenerateRequest request, Deadline deadline, GenerationListener listener) {
        this.coordinators = coordinators;
        this.credentials = credentials;
        this.request = request;
        this.deadline = deadline;
        this.listener = listener;
        this.start = coordinators.start();
    }

    GenerateCall begin() {
        send();
        return this;
    }

    private void send() {
        Coordinators.Coordinator coordinator = coordinators.get(start, attempt);
        InferenceGrpc.InferenceStub stub = InferenceGrpc.newStub(coordinator.channel()).withCallCredentials(credentials);
        (deadline == null ? stub : stub.withDeadline(deadline)).generate(request, new Responses(coordinator.address()));
    }

    @Override
    public void cancel() {
        cancelled = true;
        ClientCallStreamObserver<GenerateRequest> current = call;
        if (current != null) {
            current.cancel(CANCELLED, null);
        }
    }

    /** The responses of one attempt; gRPC calls it one callback at a time. */
    private final class Responses implements ClientResponseObserver<GenerateRequest, GenerateResponse> {
        private final String address;
        private boolean responded;
        private boolean finished;

        Responses(String address) {
            this.address = address;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<GenerateRequest> requestStream) {
            call = requestStream;
            if (cancelled) {
                requestStream.cancel(CANCELLED, null);
            }
        }

        @Override
        public void onNext(GenerateResponse response) {
            if (finished) {
                return;
            }
            responded = true;
            Messages.delta(response).ifPresent(listener::onDelta);
            if (response.hasFinish()) {
                finished = true;
                listener.onFinish(Messages.finish(response.getFinish()));
            }
        }

        @Override
        public void onError(Throwable t) {
            if (finished) {
                return;
            }
            StatusRuntimeException e = t instanceof StatusRuntimeException s ? s : Status.fromThrowable(t).asRuntimeException();
            boolean unavailable = e.getStatus().getCode() == Status.Code.UNAVAILABLE;
            if (unavailable && !responded && !cancelled && attempt + 1 < coordinators.size()) {
                attempt++;
                log.debug("Coordinator {} unavailable ({}); trying {}", address, e.getStatus(), coordinators.get(start, attempt).address());
                send();
                return;
            }
            listener.onError(responded ? ExpertMeshException.brokenStream(e, address)
                    : ExpertMeshException.of(e, unavailable ? coordinators.addresses() : address));
        }

        @Override
        public void onCompleted() {
            if (!finished) {
                listener.onError(ExpertMeshException.truncated(address));
            }
        }
    }
}
