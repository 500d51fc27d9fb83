package dev.expertmesh.client;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

import javax.net.ssl.SSLException;
import java.io.IOException;
import java.util.Optional;

/**
 * A call to a coordinator failed. The message is one line: the server's own message (for
 * INVALID_ARGUMENT it names the field), or why no coordinator could be reached.
 */
public final class ExpertMeshException extends RuntimeException {
    /** What gRPC says of a connection the server closed without a word: a TLS server's, to a plain-text client. */
    private static final String PLAIN_TEXT_CLOSED = "Network closed for unknown reason";
    private final Status.Code code;
    private final String serverMessage;

    private ExpertMeshException(String message, Status.Code code, String serverMessage, Throwable cause) {
        super(message, cause);
        this.code = code;
        this.serverMessage = serverMessage;
    }

    /** The gRPC status code: INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED... */
    public Status.Code code() {
        return code;
    }

    /** The status description the coordinator (or gRPC, for a call that never reached one) gave. */
    public Optional<String> serverMessage() {
        return Optional.ofNullable(serverMessage);
    }

    /** The failure of a call to the coordinator at {@code address} (the addresses tried, when several were). */
    static ExpertMeshException of(StatusRuntimeException e, String address) {
        Status status = e.getStatus();
        String description = status.getDescription();
        String why = description != null ? description : status.getCode().toString();
        String message = switch (status.getCode()) {
            case UNAVAILABLE -> tlsFailure(status).map(tls -> "TLS with the coordinator at " + address + " failed: " + tls
                            + " (is it the cluster's CA that the client trusts: --tls-ca, ExpertMeshClient.Builder.trustedCa?)")
                    .orElse(unreachable(status)
                            ? "cannot reach the coordinator at " + address + " (is it running, and is this its gRPC address?)"
                            : PLAIN_TEXT_CLOSED.equals(description)
                            ? "coordinator " + address + " closed the connection: " + why + " (a coordinator serving TLS closes "
                            + "plain-text ones: trust the cluster's CA with --tls-ca, or ExpertMeshClient.Builder.trustedCa)"
                            : "coordinator " + address + " unavailable: " + why);
            case INVALID_ARGUMENT -> why;
            case DEADLINE_EXCEEDED -> "coordinator " + address + ": the deadline passed before the call ended (" + why + ")";
            default -> "coordinator " + address + ": " + why;
        };
        return new ExpertMeshException(message, status.getCode(), description, e);
    }

    /** The failure of a Generate stream that had already brought tokens: the coordinator was reached. */
    static ExpertMeshException brokenStream(StatusRuntimeException e, String address) {
        Status status = e.getStatus();
        String why = status.getDescription() != null ? status.getDescription() : status.getCode().toString();
        return new ExpertMeshException("coordinator " + address + ": the stream broke after it began (" + why + ")", status.getCode(),
                status.getDescription(), e);
    }

    /** The stream ended without the finish message every generation ends with. */
    static ExpertMeshException truncated(String address) {
        return new ExpertMeshException("coordinator " + address + " ended the stream without a finish reason", Status.Code.INTERNAL,
                null, null);
    }

    /** The thread waiting for the stream was interrupted; the generation is cancelled. */
    static ExpertMeshException interrupted(InterruptedException e) {
        return new ExpertMeshException("interrupted while waiting for the coordinator; the generation is cancelled", Status.Code.CANCELLED,
                null, e);
    }

    /** The TLS handshake's own words, when that is what failed. */
    private static Optional<String> tlsFailure(Status status) {
        for (Throwable cause = status.getCause(); cause != null; cause = cause.getCause()) {
            if (cause instanceof SSLException tls) {
                return Optional.of(tls.getMessage());
            }
        }
        return Optional.empty();
    }

    private static boolean unreachable(Status status) {
        return status.getCause() instanceof IOException || "io exception".equals(status.getDescription());
    }
}
