package dev.expertmesh.coordinator.dispatch;

import dev.expertmesh.transport.Peer;
import dev.expertmesh.transport.PeerFailureException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * Sends to several peers at once and collects every reply, waiting for all of them even when one
 * fails (a stream must be idle before its next message).
 */
final class ConcurrentReplies {
    /** Past the streams' own reply deadline, for the time a cancelled stream takes to unwind. */
    private static final Duration UNWIND = Duration.ofSeconds(5);

    /** Each call's reply, or the failure of its peer instead. */
    record Settled<T>(List<T> replies, List<PeerFailureException> failures) {
        boolean failed(int call) {
            return failures.get(call) != null;
        }

        /** The replies, or the first failure thrown. */
        List<T> orThrow() {
            for (PeerFailureException failure : failures) {
                if (failure != null) {
                    throw failure;
                }
            }
            return replies;
        }
    }

    private ConcurrentReplies() {
    }

    static <T> List<T> await(ExecutorService senders, Duration replyTimeout, List<Peer> peers, List<Supplier<T>> calls) {
        return settle(senders, replyTimeout, peers, calls).orThrow();
    }

    /**
     * The last call runs on the calling thread, which would otherwise only wait: a single peer (as attention
     * always is) then costs no hand-off to a sender thread and back. It is bounded by its stream's own reply
     * deadline, as every call is; the others' unwinding gets {@link #UNWIND} more.
     */
    static <T> Settled<T> settle(ExecutorService senders, Duration replyTimeout, List<Peer> peers, List<Supplier<T>> calls) {
        int last = calls.size() - 1;
        List<Future<T>> futures = new ArrayList<>(calls.size());
        for (Supplier<T> call : calls.subList(0, Math.max(last, 0))) {
            futures.add(senders.submit(call::get));
        }
        long start = System.nanoTime();
        long deadline = start + replyTimeout.plus(UNWIND).toNanos();
        List<T> replies = new ArrayList<>(calls.size());
        List<PeerFailureException> failures = new ArrayList<>(calls.size());
        T ownReply = null;
        PeerFailureException ownFailure = null;
        RuntimeException local = null;
        if (last >= 0) {
            try {
                ownReply = calls.get(last).get();
            } catch (PeerFailureException p) {
                ownFailure = p;
            } catch (RuntimeException r) {
                local = r;
            }
        }
        for (int i = 0; i < futures.size(); i++) {
            T reply = null;
            PeerFailureException failure = null;
            try {
                reply = futures.get(i).get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (ExecutionException e) {
                switch (e.getCause()) {
                    case PeerFailureException p -> failure = p;
                    // A fault on this side (a bad row, a bug) is not the peer's: it fails the step as it is.
                    case RuntimeException r -> local = local == null ? r : local;
                    default -> failure = PeerFailureException.unanswered(peers.get(i), "failed", e.getCause(), start);
                }
            } catch (TimeoutException e) {
                futures.get(i).cancel(true);
                failure = PeerFailureException.unanswered(peers.get(i), "no reply within " + replyTimeout.plus(UNWIND), e, start);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for " + peers, e);
            }
            replies.add(reply);
            failures.add(failure);
        }
        if (local != null) {
            throw local;
        }
        if (last >= 0) {
            replies.add(ownReply);
            failures.add(ownFailure);
        }
        return new Settled<>(replies, failures);
    }
}
