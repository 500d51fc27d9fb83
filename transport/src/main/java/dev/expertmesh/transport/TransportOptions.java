package dev.expertmesh.transport;

import dev.expertmesh.proto.HiddenType;

import java.time.Duration;
import java.util.Optional;

/**
 * How hidden vectors travel (bf16 halves the bytes; fp32 keeps the single-process answer to the
 * last bit of summation order), how long a peer may take to answer one message before it is
 * declared failed, how many micro-batches a step is split into so that one's attention runs on
 * the workers while another's experts do (1 turns the overlap off); each micro-batch has its own
 * stream to every peer; and the node's TLS files, with which it reaches workers that serve TLS
 * and serves its own endpoint.
 */
public record TransportOptions(HiddenType hiddenType, Duration replyTimeout, int microBatches, Optional<TlsFiles> tls) {
    public static final TransportOptions DEFAULT = new TransportOptions(HiddenType.BF16, Duration.ofSeconds(10), 2);

    public TransportOptions {
        if (hiddenType == HiddenType.UNRECOGNIZED) {
            throw new IllegalArgumentException("hidden vectors travel as BF16 or FP32");
        }
        if (replyTimeout.isNegative() || replyTimeout.isZero()) {
            throw new IllegalArgumentException("the reply timeout must be positive, got " + replyTimeout);
        }
        if (microBatches < 1) {
            throw new IllegalArgumentException("a step needs at least 1 micro-batch (1 turns the overlap off), got " + microBatches);
        }
    }

    /** In plain text. */
    public TransportOptions(HiddenType hiddenType, Duration replyTimeout, int microBatches) {
        this(hiddenType, replyTimeout, microBatches, Optional.empty());
    }

    public TransportOptions withHiddenType(HiddenType type) {
        return new TransportOptions(type, replyTimeout, microBatches, tls);
    }

    public TransportOptions withReplyTimeout(Duration timeout) {
        return new TransportOptions(hiddenType, timeout, microBatches, tls);
    }

    public TransportOptions withMicroBatches(int count) {
        return new TransportOptions(hiddenType, replyTimeout, count, tls);
    }

    public TransportOptions withTls(Optional<TlsFiles> files) {
        return new TransportOptions(hiddenType, replyTimeout, microBatches, files);
    }
}
