package dev.expertmesh.transport;

/** A worker failed to answer: it refused the message, its stream broke, or it did not answer in time. */
public final class PeerFailureException extends RuntimeException {
    private final Peer peer;

    public PeerFailureException(Peer peer, String what, Throwable cause) {
        super(peer + ": " + what + (cause == null || cause.getMessage() == null ? "" : ": " + cause.getMessage()), cause);
        this.peer = peer;
    }

    public Peer peer() {
        return peer;
    }
}
