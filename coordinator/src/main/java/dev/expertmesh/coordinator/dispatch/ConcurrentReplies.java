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
 * fails (a stream must be idle before its next message), then reports the first failure.
 */
final class ConcurrentReplies {
    /** Past the streams' own reply deadline, for the time a cancelled stream takes to unwind. */
    private static final Duration UNWIND = Duration.ofSeconds(5);

    private ConcurrentReplies() {
    }

    static <T> List<T> await(ExecutorService senders, Duration replyTimeout, List<Peer> peers, List<Supplier<T>> calls) {
        List<Future<T>> futures = new ArrayList<>(calls.size());
        for (Supplier<T> call : calls) {
            futures.add(senders.submit(call::get));
        }
        long deadline = System.nanoTime() + replyTimeout.plus(UNWIND).toNanos();
        List<T> replies = new ArrayList<>(calls.size());
        RuntimeException failure = null;
        for (int i = 0; i < futures.size(); i++) {
            try {
                replies.add(futures.get(i).get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
            } catch (ExecutionException e) {
                replies.add(null);
                if (failure == null) {
                    failure = e.getCause() instanceof RuntimeException r ? r : new PeerFailureException(peers.get(i), "failed", e.getCause());
                }
            } catch (TimeoutException e) {
                futures.get(i).cancel(true);
                replies.add(null);
                if (failure == null) {
                    failure = new PeerFailureException(peers.get(i), "no reply within " + replyTimeout.plus(UNWIND), e);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for " + peers, e);
            }
        }
        if (failure != null) {
            throw failure;
        }
        return replies;
    }
}
