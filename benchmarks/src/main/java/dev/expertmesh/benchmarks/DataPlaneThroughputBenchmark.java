package dev.expertmesh.benchmarks;

import dev.expertmesh.proto.AttentionBatch;
import dev.expertmesh.proto.HiddenType;
import dev.expertmesh.transport.DataPlaneSchemas;
import dev.expertmesh.transport.DataPlaneSockets;
import dev.expertmesh.transport.ExchangeStream;
import dev.expertmesh.transport.HiddenRows;
import dev.expertmesh.transport.Peer;
import dev.expertmesh.transport.ReplyDeadlines;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.FixedSizeBinaryVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Round trips of {@code rows} hidden rows of DeepSeek-V2-Lite's width in bf16 (4 KiB a row; 256
 * rows make 1 MiB) over loopback: through the data plane's {@link ExchangeStream} to a worker's
 * {@link dev.expertmesh.transport.DataPlaneServer} echoing them, and, in the same run, as the same
 * bytes through a plain TCP socket echo.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 10, time = 1)
@Measurement(iterations = 5, time = 1)
public class DataPlaneThroughputBenchmark {
    private static final int DIM = 2048;
    private static final HiddenType TYPE = HiddenType.BF16;

    @Param({"1", "16", "64", "256"})
    public int rows;

    private int messageBytes;
    private DataPlaneEchoServer echoServer;
    private BufferAllocator allocator;
    private ReplyDeadlines deadlines;
    private ExchangeStream stream;
    private long step;
    private TcpEchoServer tcpServer;
    private Socket socket;
    private OutputStream tcpOut;
    private DataInputStream tcpIn;
    private byte[] tcpMessage;
    private byte[] tcpReply;

    @Setup(Level.Trial)
    public void connect() throws IOException {
        messageBytes = rows * DIM * HiddenRows.bytesPerValue(TYPE);
        SplittableRandom random = new SplittableRandom(5);
        // The TCP echo sends these same bf16 rows, copied out of the data plane's request.
        float[] hidden = new float[rows * DIM];
        for (int i = 0; i < hidden.length; i++) {
            hidden[i] = (float) random.nextDouble(-1, 1);
        }

        echoServer = new DataPlaneEchoServer();
        allocator = new RootAllocator();
        Peer peer = Peer.of("echo", "127.0.0.1", 0, echoServer.port());
        deadlines = new ReplyDeadlines(Duration.ofSeconds(10));
        stream = new ExchangeStream(peer, DataPlaneSockets.of(Optional.empty()), DataPlaneSchemas.ATTENTION_STREAM,
                DataPlaneSchemas.hidden(DIM, TYPE), allocator, deadlines);
        VectorSchemaRoot request = stream.request();
        FixedSizeBinaryVector requestRows = (FixedSizeBinaryVector) request.getVector(HiddenRows.FIELD);
        HiddenRows.writeAll(requestRows, hidden, DIM);
        request.setRowCount(rows);

        tcpServer = new TcpEchoServer();
        socket = new Socket(InetAddress.getLoopbackAddress(), tcpServer.port());
        socket.setTcpNoDelay(true);
        tcpOut = socket.getOutputStream();
        tcpIn = new DataInputStream(socket.getInputStream());
        tcpMessage = new byte[Integer.BYTES + messageBytes];
        ByteBuffer.wrap(tcpMessage).putInt(messageBytes);
        requestRows.getDataBuffer().getBytes(0, tcpMessage, Integer.BYTES, messageBytes);
        tcpReply = new byte[messageBytes];
    }

    @TearDown(Level.Trial)
    public void close() throws Exception {
        socket.close();
        tcpServer.close();
        stream.close();
        deadlines.close();
        allocator.close();
        echoServer.close();
    }

    /** The metadata is an attention batch's, so that each message also carries what a real one does. */
    @Benchmark
    public int dataPlaneEcho(WireBytes wire) {
        VectorSchemaRoot reply = stream.exchange(AttentionBatch.newBuilder().setStep(step++).setHiddenType(TYPE).build(), "echo");
        if (reply.getRowCount() != rows) {
            throw new IllegalStateException("the data-plane echo answered " + reply.getRowCount() + " rows for " + rows);
        }
        wire.add(2L * messageBytes);
        return reply.getRowCount();
    }

    @Benchmark
    public int tcpEcho(WireBytes wire) throws IOException {
        tcpOut.write(tcpMessage);
        int length = tcpIn.readInt();
        if (length != messageBytes) {
            throw new IllegalStateException("the TCP echo answered " + length + " bytes for " + messageBytes);
        }
        tcpIn.readFully(tcpReply, 0, length);
        wire.add(2L * messageBytes);
        return length;
    }
}
