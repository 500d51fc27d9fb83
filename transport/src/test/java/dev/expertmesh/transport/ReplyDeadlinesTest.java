package dev.expertmesh.transport;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** A reply deadline cuts off a wait that outlives it, and only that wait. */
class ReplyDeadlinesTest {

    @Test
    void aLateReplyIsCutOffAndReportedExpired() throws InterruptedException {
        try (ReplyDeadlines deadlines = new ReplyDeadlines(Duration.ofMillis(20))) {
            ReplyDeadlines.Deadline deadline = deadlines.register();
            CountDownLatch cutOff = new CountDownLatch(1);
            deadline.arm(cutOff::countDown);
            assertThat(cutOff.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(deadline.disarm()).isTrue();
        }
    }

    @Test
    void aReplyInTimeIsNeitherCutOffNorExpired() throws InterruptedException {
        try (ReplyDeadlines deadlines = new ReplyDeadlines(Duration.ofSeconds(30))) {
            ReplyDeadlines.Deadline deadline = deadlines.register();
            AtomicInteger cutOffs = new AtomicInteger();
            deadline.arm(cutOffs::incrementAndGet);
            assertThat(deadline.disarm()).isFalse();
            assertThat(cutOffs).hasValue(0);
        }
    }

    @Test
    void aDisarmedDeadlineNeverFiresLater() throws InterruptedException {
        try (ReplyDeadlines deadlines = new ReplyDeadlines(Duration.ofMillis(20))) {
            ReplyDeadlines.Deadline quiet = deadlines.register();
            AtomicInteger quietCutOffs = new AtomicInteger();
            quiet.arm(quietCutOffs::incrementAndGet);
            quiet.disarm();
            // A second stream's expiry shows the checks ran past the first one's due time.
            ReplyDeadlines.Deadline late = deadlines.register();
            CountDownLatch lateCutOff = new CountDownLatch(1);
            late.arm(lateCutOff::countDown);
            assertThat(lateCutOff.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(quietCutOffs).hasValue(0);
            assertThat(quiet.disarm()).isFalse();
        }
    }

    @Test
    void aThrowingCutOffDoesNotStopTheChecksOfOtherStreams() throws InterruptedException {
        try (ReplyDeadlines deadlines = new ReplyDeadlines(Duration.ofMillis(20))) {
            deadlines.register().arm(() -> {
                throw new IllegalStateException("the stream was already closed");
            });
            Thread.sleep(100);
            ReplyDeadlines.Deadline next = deadlines.register();
            CountDownLatch cutOff = new CountDownLatch(1);
            next.arm(cutOff::countDown);
            assertThat(cutOff.await(10, TimeUnit.SECONDS)).isTrue();
        }
    }
}
