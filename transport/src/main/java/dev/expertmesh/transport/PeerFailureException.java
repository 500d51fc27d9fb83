package dev.expertmesh.transport;

/**
 * A worker failed to answer: its stream broke or it did not answer in time (it may be dead, frozen
 * or cut off: {@link #refused()} false), or it answered with an error (it is alive, and refused the
 * message: true). {@link #sinceNanos()} is when the call it did not answer began.
 */
public final class PeerFailureException extends RuntimeException {
    private final Peer peer;
    private final boolean refused;
    private final long sinceNanos;

    private PeerFailureException(Peer peer, String what, Throwable cause, boolean refused, long sinceNanos) {
        super(peer + ": " + what + (cause == null || cause.getMessage() == null ? "" : ": " + cause.getMessage()), cause);
        this.peer = peer;
        this.refused = refused;
        this.sinceNanos = sinceNanos;
    }

    /** No answer from {@code peer} to a call that began at {@code sinceNanos} (System.nanoTime). */
    public static PeerFailureException unanswered(Peer peer, String what, Throwable cause, long sinceNanos) {
        return new PeerFailureException(peer, what, cause, false, sinceNanos);
    }

    /** No answer from {@code peer}, to a call that began just now. */
    public static PeerFailureException unanswered(Peer peer, String what, Throwable cause) {
        return unanswered(peer, what, cause, System.nanoTime());
    }

    /** An answer from {@code peer} that is an error, or not the answer asked for. */
    public static PeerFailureException refused(Peer peer, String what, Throwable cause) {
        return new PeerFailureException(peer, what, cause, true, System.nanoTime());
    }

    public Peer peer() {
        return peer;
    }

    public boolean refused() {
        return refused;
    }

    public long sinceNanos() {
        return sinceNanos;
    }
}
