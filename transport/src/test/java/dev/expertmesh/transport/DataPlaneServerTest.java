package dev.expertmesh.transport;

import dev.expertmesh.proto.AttentionBatch;
import dev.expertmesh.proto.HiddenType;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.FixedSizeBinaryVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.DataOutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Percentage.withPercentage;

/**
 * The data plane on a real loopback socket: rows and metadata arrive as sent, in both hidden types and at sizes
 * that take many socket reads; a worker's refusal or failure reaches the caller as such, with the worker's reason,
 * and the next exchange connects afresh; a late reply is cut off at its deadline; a stream of the wrong kind or a
 * peer that speaks another protocol is turned away.
 */
class DataPlaneServerTest {
    private static final int DIM = 64;
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final BufferAllocator allocator = new RootAllocator();
    private final DataPlaneSockets plain = DataPlaneSockets.of(Optional.empty());
    private final AtomicReference<DataPlaneServer.Handler> handler = new AtomicReference<>(DataPlaneServerTest::doubled);
    private final DataPlaneServer server = DataPlaneServer.start("test worker", DataPlaneSchemas.ATTENTION_STREAM, "127.0.0.1", 0,
            plain, allocator, (request, metadata, reply) -> handler.get().answer(request, metadata, reply));
    private final Peer peer = Peer.of("test worker", "127.0.0.1", 0, server.port());

    @AfterEach
    void stop() throws InterruptedException {
        server.close();
        allocator.close();
    }

    /** Twice each row, and the step of the metadata added to every value, so that both are checked. */
    private static void doubled(VectorSchemaRoot request, byte[] metadata, VectorSchemaRoot reply) {
        long step = BatchMetadata.read(metadata, AttentionBatch.parser(), "AttentionBatch").getStep();
        float[] x = HiddenRows.read((FixedSizeBinaryVector) request.getVector(HiddenRows.FIELD), DIM);
        for (int i = 0; i < x.length; i++) {
            x[i] = 2 * x[i] + step;
        }
        HiddenRows.writeAll((FixedSizeBinaryVector) reply.getVector(HiddenRows.FIELD), x, DIM);
        reply.setRowCount(request.getRowCount());
    }

    private ExchangeStream stream(ReplyDeadlines deadlines, HiddenType type) {
        return new ExchangeStream(peer, plain, DataPlaneSchemas.ATTENTION_STREAM, DataPlaneSchemas.hidden(DIM, type), allocator, deadlines);
    }

    private static float[] send(ExchangeStream stream, float[] rows, long step) {
        VectorSchemaRoot request = stream.request();
        HiddenRows.writeAll((FixedSizeBinaryVector) request.getVector(HiddenRows.FIELD), rows, DIM);
        request.setRowCount(rows.length / DIM);
        VectorSchemaRoot reply = stream.exchange(AttentionBatch.newBuilder().setStep(step).build(), "rows");
        assertThat(reply.getRowCount()).isEqualTo(rows.length / DIM);
        return HiddenRows.read((FixedSizeBinaryVector) reply.getVector(HiddenRows.FIELD), DIM);
    }

    private static float[] random(int rows, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] x = new float[rows * DIM];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextDouble(-4, 4);
        }
        return x;
    }

    @Test
    void fp32RowsComeBackExactlyAsTheHandlerWroteThem() {
        try (ReplyDeadlines deadlines = new ReplyDeadlines(TIMEOUT); ExchangeStream stream = stream(deadlines, HiddenType.FP32)) {
            // 1 row, then one of about 1 MiB (many socket reads, a body bigger than the read buffer), then 3 again.
            for (int rows : new int[]{1, 4096, 3}) {
                float[] x = random(rows, rows);
                float[] expected = new float[x.length];
                for (int i = 0; i < x.length; i++) {
                    expected[i] = 2 * x[i] + rows;
                }
                assertThat(send(stream, x, rows)).as("%d rows", rows).containsExactly(expected);
            }
        }
    }

    @Test
    void bf16RowsArriveAsBf16RoundsThem() {
        try (ReplyDeadlines deadlines = new ReplyDeadlines(TIMEOUT); ExchangeStream stream = stream(deadlines, HiddenType.BF16)) {
            float[] x = random(100, 7);
            float[] reply = send(stream, x, 0);
            for (int i = 0; i < x.length; i++) {
                // Each way rounds to bf16's 8 significant bits: at most 2^-8 relative on the way out, doubled exactly, again back.
                assertThat(reply[i]).isCloseTo(2 * x[i], withPercentage(0.8));
            }
        }
    }

    @Test
    void aRefusedBatchSaysWhyAndTheNextExchangeConnectsAgain() {
        handler.set((request, metadata, reply) -> {
            throw new IllegalArgumentException("epoch 3 is not served here");
        });
        try (ReplyDeadlines deadlines = new ReplyDeadlines(TIMEOUT); ExchangeStream stream = stream(deadlines, HiddenType.FP32)) {
            assertThatThrownBy(() -> send(stream, random(2, 1), 0)).isInstanceOfSatisfying(PeerFailureException.class, e -> {
                assertThat(e.refused()).as("the worker answered").isTrue();
                assertThat(e).hasMessageContaining("rows refused: test worker: epoch 3 is not served here");
            });
            handler.set(DataPlaneServerTest::doubled);
            assertThat(send(stream, new float[DIM], 5)).containsOnly(5f);
        }
    }

    @Test
    void aFailureOnTheWorkerIsReportedAsUnanswered() {
        handler.set((request, metadata, reply) -> {
            throw new ArithmeticException("broken kernel");
        });
        try (ReplyDeadlines deadlines = new ReplyDeadlines(TIMEOUT); ExchangeStream stream = stream(deadlines, HiddenType.FP32)) {
            assertThatThrownBy(() -> send(stream, random(2, 1), 0)).isInstanceOfSatisfying(PeerFailureException.class, e -> {
                assertThat(e.refused()).as("failed over like a lost worker").isFalse();
                assertThat(e).hasMessageContaining("rows failed: test worker: java.lang.ArithmeticException: broken kernel");
            });
        }
    }

    @Test
    void aLateReplyToAVirtualThreadIsCutOffAtItsDeadline() throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread.ofVirtual().start(() -> {
            try {
                aLateReplyIsCutOffAtItsDeadline();
            } catch (Throwable e) {
                failure.set(e);
            }
        }).join();
        assertThat(failure.get()).isNull();
    }

    @Test
    void aLateReplyIsCutOffAtItsDeadline() {
        handler.set((request, metadata, reply) -> {
            try {
                Thread.sleep(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try (ReplyDeadlines deadlines = new ReplyDeadlines(Duration.ofMillis(200)); ExchangeStream stream = stream(deadlines, HiddenType.FP32)) {
            long start = System.nanoTime();
            assertThatThrownBy(() -> send(stream, random(1, 1), 0)).isInstanceOfSatisfying(PeerFailureException.class, e -> {
                assertThat(e.refused()).isFalse();
                assertThat(e).hasMessageContaining("rows: no reply within 200 ms");
            });
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(4));
        }
    }

    @Test
    void aStreamOfAnotherKindIsTurnedAwayWithTheReason() {
        try (ReplyDeadlines deadlines = new ReplyDeadlines(TIMEOUT);
             ExchangeStream stream = new ExchangeStream(peer, plain, DataPlaneSchemas.EXPERT_STREAM, DataPlaneSchemas.hidden(DIM, HiddenType.FP32),
                     allocator, deadlines)) {
            assertThatThrownBy(() -> send(stream, random(1, 1), 0)).isInstanceOfSatisfying(PeerFailureException.class, e -> {
                assertThat(e.refused()).isTrue();
                assertThat(e).hasMessageContaining("a experts stream, and this worker serves attention streams");
            });
        }
    }

    @Test
    void aPeerSpeakingAnotherProtocolIsDroppedAndTheWorkerServesOn() throws Exception {
        try (Socket http = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            DataOutputStream out = new DataOutputStream(http.getOutputStream());
            out.writeBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            out.flush();
            int answer;
            try {
                answer = http.getInputStream().read();
            } catch (SocketException reset) {
                answer = -1;
            }
            assertThat(answer).as("the worker hangs up (with a reset when it left bytes unread)").isEqualTo(-1);
        }
        try (ReplyDeadlines deadlines = new ReplyDeadlines(TIMEOUT); ExchangeStream stream = stream(deadlines, HiddenType.FP32)) {
            assertThat(send(stream, new float[DIM], 1)).containsOnly(1f);
        }
    }

    @Test
    void aStoppedWorkerIsUnanswered() throws InterruptedException {
        server.close();
        try (ReplyDeadlines deadlines = new ReplyDeadlines(TIMEOUT); ExchangeStream stream = stream(deadlines, HiddenType.FP32)) {
            assertThatThrownBy(() -> send(stream, new float[DIM], 1)).isInstanceOfSatisfying(PeerFailureException.class,
                    e -> assertThat(e.refused()).isFalse());
        }
    }
}
