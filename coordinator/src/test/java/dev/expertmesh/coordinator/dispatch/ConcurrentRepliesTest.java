package dev.expertmesh.coordinator.dispatch;

import dev.expertmesh.transport.Peer;
import dev.expertmesh.transport.PeerFailureException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every call's reply or failure in its own slot, the last call run on the caller's thread. */
class ConcurrentRepliesTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final List<Peer> PEERS = List.of(Peer.of("a", "127.0.0.1", 1, 4), Peer.of("b", "127.0.0.1", 2, 5), Peer.of("c", "127.0.0.1", 3, 6));

    private final ExecutorService senders = Executors.newVirtualThreadPerTaskExecutor();

    @AfterEach
    void shutDown() {
        senders.shutdownNow();
    }

    @Test
    void theLastCallRunsOnTheCallingThreadAndTheOthersOnSenders() {
        Thread caller = Thread.currentThread();
        Supplier<Thread> thread = Thread::currentThread;
        List<Thread> ran = ConcurrentReplies.await(senders, TIMEOUT, PEERS, List.of(thread, thread, thread));
        assertThat(ran.get(2)).isSameAs(caller);
        assertThat(ran.subList(0, 2)).allSatisfy(t -> assertThat(t).isNotSameAs(caller));
    }

    @Test
    void aSinglePeerIsCalledOnTheCallingThread() {
        Thread caller = Thread.currentThread();
        Supplier<Thread> thread = Thread::currentThread;
        assertThat(ConcurrentReplies.await(senders, TIMEOUT, PEERS.subList(0, 1), List.of(thread))).containsExactly(caller);
    }

    @Test
    void eachFailureStaysInItsCallsSlotWhereverTheCallRan() {
        PeerFailureException first = PeerFailureException.unanswered(PEERS.get(0), "no reply", null);
        PeerFailureException last = PeerFailureException.refused(PEERS.get(2), "refused", null);
        ConcurrentReplies.Settled<String> settled = ConcurrentReplies.settle(senders, TIMEOUT, PEERS, List.of(
                () -> {
                    throw first;
                },
                () -> "b",
                () -> {
                    throw last;
                }));
        assertThat(settled.replies()).containsExactly(null, "b", null);
        assertThat(settled.failures()).containsExactly(first, null, last);
    }

    @Test
    void aLocalFaultOnTheCallingThreadIsThrownOnlyAfterTheOtherCallsEnd() {
        AtomicBoolean otherEnded = new AtomicBoolean();
        assertThatThrownBy(() -> ConcurrentReplies.settle(senders, TIMEOUT, PEERS.subList(0, 2), List.<Supplier<String>>of(
                () -> {
                    sleep();
                    otherEnded.set(true);
                    return "a";
                },
                () -> {
                    throw new IllegalArgumentException("a bad row");
                })))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("a bad row");
        assertThat(otherEnded).isTrue();
    }

    private static void sleep() {
        try {
            Thread.sleep(200);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
