package dev.expertmesh.transport;

import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorLoader;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.ipc.ReadChannel;
import org.apache.arrow.vector.ipc.WriteChannel;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.ipc.message.MessageMetadataResult;
import org.apache.arrow.vector.ipc.message.MessageSerializer;
import org.apache.arrow.vector.types.pojo.Schema;

import java.io.EOFException;
import java.io.IOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One data-plane connection, as frames of Arrow IPC messages. A frame is a {@link Kind} and a body. A stream
 * opens with a HELLO (a version, the stream's kind and the request schema as an IPC schema message); then each
 * request and each reply is a BATCH: its metadata (a protobuf message, length first) and one IPC record batch
 * message. Integers are little-endian, as in Arrow's messages, and each IPC message is padded to start at a
 * multiple of 8 bytes into the connection. A worker that refuses a batch, or fails on it, answers REFUSED or
 * FAILED with the reason and closes the connection.
 * <p>
 * Over plain TCP a frame costs what a TCP echo of its bytes does: it goes out in one gathering write, the
 * columns straight from their Arrow buffers, and a batch's body is read straight into the Arrow buffer its
 * columns are sliced from. Over TLS the bytes pass through the socket's streams.
 */
final class FrameChannel implements AutoCloseable {
    static final int VERSION = 1;
    /** Far beyond any batch's metadata, stream name or reason: a longer field is not a frame of this protocol. */
    private static final int LARGEST_FIELD = 1 << 24;

    enum Kind {
        HELLO, BATCH, REFUSED, FAILED
    }

    /** A stream's opening: what the client will send, and in which schema. */
    record Hello(int version, String stream, Schema schema) {
    }

    private final Socket socket;
    private final Outgoing outgoing;
    private final ReadChannel in;
    private final ByteBuffer number = ByteBuffer.allocate(Integer.BYTES);

    FrameChannel(Socket socket) throws IOException {
        this.socket = socket;
        socket.setTcpNoDelay(true);
        boolean plain = socket.getChannel() != null;
        this.outgoing = new Outgoing(plain ? socket.getChannel() : Channels.newChannel(socket.getOutputStream()));
        this.in = new ReadChannel(new Buffered(plain ? socket.getChannel() : Channels.newChannel(socket.getInputStream())));
    }

    void sendHello(String stream, Schema schema) throws IOException {
        WriteChannel frame = outgoing.start(Kind.HELLO);
        frame.writeIntLittleEndian(VERSION);
        writeBytes(frame, stream.getBytes(StandardCharsets.UTF_8));
        frame.align();
        MessageSerializer.serialize(frame, schema);
        outgoing.send();
    }

    void sendBatch(byte[] metadata, VectorSchemaRoot root) throws IOException {
        WriteChannel frame = outgoing.start(Kind.BATCH);
        writeBytes(frame, metadata);
        try (ArrowRecordBatch batch = new VectorUnloader(root).getRecordBatch()) {
            frame.align();
            MessageSerializer.serialize(frame, batch);
            outgoing.send();
        }
    }

    /** REFUSED or FAILED with {@code reason}. */
    void sendError(Kind kind, String reason) throws IOException {
        writeBytes(outgoing.start(kind), reason.getBytes(StandardCharsets.UTF_8));
        outgoing.send();
    }

    private static void writeBytes(WriteChannel frame, byte[] bytes) throws IOException {
        frame.writeIntLittleEndian(bytes.length);
        frame.write(bytes);
    }

    /** Reads the next frame's kind; the accessors below read its body. EOFException: the other end closed. */
    Kind receive() throws IOException {
        int kind = readInt();
        if (kind < 0 || kind >= Kind.values().length) {
            throw new IOException("a frame of unknown kind " + kind + ": the peer does not speak the ExpertMesh data plane");
        }
        return Kind.values()[kind];
    }

    Hello hello() throws IOException {
        int version = readInt();
        String stream = new String(readBytes(), StandardCharsets.UTF_8);
        skipAlignment();
        return new Hello(version, stream, MessageSerializer.deserializeSchema(in));
    }

    String reason() throws IOException {
        return new String(readBytes(), StandardCharsets.UTF_8);
    }

    /** The batch's metadata; then {@link #load} its rows. */
    byte[] metadata() throws IOException {
        return readBytes();
    }

    /** Loads the batch's record batch into {@code root}, whose schema it must have. */
    void load(VectorSchemaRoot root, BufferAllocator allocator) throws IOException {
        skipAlignment();
        MessageMetadataResult message = MessageSerializer.readMessage(in);
        if (message == null) {
            throw new EOFException("the stream ended inside a batch");
        }
        ArrowBuf body = MessageSerializer.readMessageBody(in, message.getMessageBodyLength(), allocator);
        // The batch takes over the body's reference: its buffers are slices of it.
        try (ArrowRecordBatch batch = MessageSerializer.deserializeRecordBatch(message, body)) {
            new VectorLoader(root).load(batch);
        }
    }

    /**
     * An IPC message starts at a multiple of 8 bytes into the connection, as Arrow's writer requires; both ends
     * count the same bytes, so the reader skips the writer's padding.
     */
    private void skipAlignment() throws IOException {
        int padding = (int) (-in.bytesRead() & 7);
        if (padding > 0 && in.readFully(ByteBuffer.allocate(padding)) < padding) {
            throw new EOFException("the stream ended inside a frame");
        }
    }

    private int readInt() throws IOException {
        number.clear();
        if (in.readFully(number) < Integer.BYTES) {
            throw new EOFException("the stream ended");
        }
        return Integer.reverseBytes(number.getInt(0));
    }

    private byte[] readBytes() throws IOException {
        int length = readInt();
        if (length < 0 || length > LARGEST_FIELD) {
            throw new IOException("a field of " + length + " bytes: the peer does not speak the ExpertMesh data plane");
        }
        byte[] bytes = new byte[length];
        if (in.readFully(ByteBuffer.wrap(bytes)) < length) {
            throw new EOFException("the stream ended inside a frame");
        }
        return bytes;
    }

    /** Ends the connection; a read or write blocked on it fails at once. */
    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // Closing is all that was asked; the socket is unusable either way.
        }
    }

    /**
     * The frame being written, as Arrow's IPC writer hands it over: small pieces (the kind, the metadata, the
     * message header, padding) copied together, a column's buffer kept as it is, then all sent in one write.
     */
    private static final class Outgoing implements WritableByteChannel {
        /** Below this, copying a piece costs less than another element of the write. */
        private static final int KEPT_BYTES = 1 << 12;

        private final WritableByteChannel socket;
        private final WriteChannel writer = new WriteChannel(this);
        private final List<ByteBuffer> pieces = new ArrayList<>();
        private ByteBuffer small = ByteBuffer.allocateDirect(1 << 12);
        private int smallStart;

        Outgoing(WritableByteChannel socket) {
            this.socket = socket;
        }

        WriteChannel start(Kind kind) throws IOException {
            pieces.clear();
            small.clear();
            smallStart = 0;
            writer.writeIntLittleEndian(kind.ordinal());
            return writer;
        }

        @Override
        public int write(ByteBuffer src) {
            int n = src.remaining();
            if (src.isDirect() && n >= KEPT_BYTES) {
                cutSmall();
                pieces.add(src.slice());
                src.position(src.limit());
            } else {
                if (small.remaining() < n) {
                    grow(n);
                }
                small.put(src);
            }
            return n;
        }

        /** Ends the run of small pieces so far as one piece. */
        private void cutSmall() {
            if (small.position() > smallStart) {
                pieces.add(small.slice(smallStart, small.position() - smallStart));
                smallStart = small.position();
            }
        }

        /** A bigger buffer for the small pieces; those already cut keep the old one. */
        private void grow(int more) {
            ByteBuffer bigger = ByteBuffer.allocateDirect(Math.max(small.capacity() * 2, small.position() - smallStart + more));
            bigger.put(small.slice(smallStart, small.position() - smallStart));
            small = bigger;
            smallStart = 0;
        }

        void send() throws IOException {
            cutSmall();
            ByteBuffer[] all = pieces.toArray(ByteBuffer[]::new);
            if (socket instanceof GatheringByteChannel gathering) {
                long left = 0;
                for (ByteBuffer piece : all) {
                    left += piece.remaining();
                }
                while (left > 0) {
                    left -= gathering.write(all);
                }
            } else {
                for (ByteBuffer piece : all) {
                    while (piece.hasRemaining()) {
                        socket.write(piece);
                    }
                }
            }
            pieces.clear();
        }

        @Override
        public boolean isOpen() {
            return socket.isOpen();
        }

        @Override
        public void close() {
        }
    }

    /**
     * Reads through a buffer, so a frame's small fields cost one socket read between them, except into a
     * destination as big as the buffer (a batch's body), which is read straight from the socket.
     */
    private static final class Buffered implements ReadableByteChannel {
        private final ReadableByteChannel socket;
        private final ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 16).limit(0);

        Buffered(ReadableByteChannel socket) {
            this.socket = socket;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (!buffer.hasRemaining()) {
                if (dst.remaining() >= buffer.capacity()) {
                    return socket.read(dst);
                }
                buffer.clear();
                int read = socket.read(buffer);
                buffer.flip();
                if (read < 0) {
                    return -1;
                }
            }
            int n = Math.min(dst.remaining(), buffer.remaining());
            dst.put(buffer.slice(buffer.position(), n));
            buffer.position(buffer.position() + n);
            return n;
        }

        @Override
        public boolean isOpen() {
            return socket.isOpen();
        }

        @Override
        public void close() {
        }
    }
}
