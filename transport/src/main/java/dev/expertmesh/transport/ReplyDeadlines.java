package dev.expertmesh.transport;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The reply deadlines of a node's exchange streams, checked by one thread every 50th of the timeout (at most
 * every 20 ms), so a late reply is cut off within that much past its deadline. Arming and disarming a deadline
 * are a write each: a timer task per message (as a ScheduledExecutorService gives) woke the timer thread once
 * per round trip, a hand-off on a busy core for a deadline that almost never fires.
 */
public final class ReplyDeadlines implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ReplyDeadlines.class);
    private static final long IDLE = 0;
    private static final long EXPIRED = -1;
    private static final Duration LONGEST_CHECK = Duration.ofMillis(20);
    private static final int CHECKS_PER_TIMEOUT = 50;

    /** One stream's deadline: when its reply is due (System.nanoTime), idle or expired. */
    public final class Deadline {
        private final AtomicLong due = new AtomicLong(IDLE);
        private volatile Runnable onExpiry;

        private Deadline() {
        }

        /**
         * Starts waiting for a reply; {@code onExpiry} cuts it off, on the checking thread, if it is late. It may
         * run just after {@link #disarm} has reported the expiry, so it must act on this wait's stream only.
         */
        public void arm(Runnable onExpiry) {
            this.onExpiry = onExpiry;
            due.set(Math.max(System.nanoTime() + timeout.toNanos(), 1));
        }

        /** Stops waiting; true when the deadline had passed first. */
        public boolean disarm() {
            return due.getAndSet(IDLE) == EXPIRED;
        }

        /** Stops checking this deadline; for a stream closed for good. */
        public void release() {
            deadlines.remove(this);
        }

        /**
         * A wait is armed only after the one before was disarmed, and each has its own due time, so when the
         * exchange from {@code at} succeeds, {@code action} is that wait's.
         */
        private void expireIfDue(long now) {
            long at = due.get();
            Runnable action = onExpiry;
            if (at != IDLE && at != EXPIRED && now - at >= 0 && due.compareAndSet(at, EXPIRED)) {
                try {
                    action.run();
                } catch (RuntimeException e) {
                    // Thrown on, it would end the checks of every other stream.
                    log.warn("Cutting off a reply past its deadline failed", e);
                }
            }
        }
    }

    private final Duration timeout;
    private final Set<Deadline> deadlines = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService checker = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("reply-deadlines").factory());

    public ReplyDeadlines(Duration timeout) {
        this.timeout = timeout;
        long every = Math.max(1, Math.min(timeout.toNanos() / CHECKS_PER_TIMEOUT, LONGEST_CHECK.toNanos()));
        checker.scheduleWithFixedDelay(this::expireDue, every, every, TimeUnit.NANOSECONDS);
    }

    public Duration timeout() {
        return timeout;
    }

    /** A deadline for one stream's replies, idle until armed. */
    public Deadline register() {
        Deadline deadline = new Deadline();
        deadlines.add(deadline);
        return deadline;
    }

    private void expireDue() {
        long now = System.nanoTime();
        deadlines.forEach(d -> d.expireIfDue(now));
    }

    @Override
    public void close() {
        checker.shutdownNow();
    }
}
