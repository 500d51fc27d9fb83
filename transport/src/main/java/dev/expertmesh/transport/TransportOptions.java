package dev.expertmesh.transport;

import dev.expertmesh.proto.HiddenType;

import java.time.Duration;

/**
 * How hidden vectors travel (bf16 halves the bytes; fp32 keeps the single-process answer to the
 * last bit of summation order) and how long a peer may take to answer one message before it is
 * declared failed.
 */
public record TransportOptions(HiddenType hiddenType, Duration replyTimeout) {
    public static final TransportOptions DEFAULT = new TransportOptions(HiddenType.BF16, Duration.ofSeconds(10));

    public TransportOptions {
        if (hiddenType == HiddenType.UNRECOGNIZED) {
            throw new IllegalArgumentException("hidden vectors travel as BF16 or FP32");
        }
        if (replyTimeout.isNegative() || replyTimeout.isZero()) {
            throw new IllegalArgumentException("the reply timeout must be positive, got " + replyTimeout);
        }
    }

    public TransportOptions withHiddenType(HiddenType type) {
        return new TransportOptions(type, replyTimeout);
    }
}
