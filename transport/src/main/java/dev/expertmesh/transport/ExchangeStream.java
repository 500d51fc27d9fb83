package dev.expertmesh.transport;

import com.google.protobuf.MessageLite;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;

import java.io.IOException;

/**
 * Request and reply over one long-lived data-plane connection to a peer ({@link FrameChannel}): the caller
 * writes the request and reads the reply on its own thread, so a round trip costs what a TCP echo does plus
 * Arrow's framing. The request and reply roots are reused for the connection's life. Each reply has its own
 * deadline ({@link ReplyDeadlines}), after which the connection is closed under the waiting read. A failed
 * connection is reopened by the next exchange, so one refused message does not disable the peer.
 */
public final class ExchangeStream implements AutoCloseable {
    private final Peer peer;
    private final DataPlaneSockets sockets;
    private final String stream;
    private final BufferAllocator allocator;
    private final VectorSchemaRoot request;
    private final VectorSchemaRoot reply;
    private final ReplyDeadlines deadlines;
    private final ReplyDeadlines.Deadline deadline;
    private FrameChannel open;

    /** A stream of {@code stream}'s kind (the worker's {@link DataPlaneServer} must serve it) to {@code peer}. */
    public ExchangeStream(Peer peer, DataPlaneSockets sockets, String stream, Schema requestSchema, BufferAllocator allocator,
                          ReplyDeadlines deadlines) {
        this.peer = peer;
        this.sockets = sockets;
        this.stream = stream;
        this.allocator = allocator;
        this.request = VectorSchemaRoot.create(requestSchema, allocator);
        this.reply = VectorSchemaRoot.create(DataPlaneSchemas.reply(requestSchema), allocator);
        this.deadlines = deadlines;
        this.deadline = deadlines.register();
    }

    public Peer peer() {
        return peer;
    }

    /** The root the next request is written into. */
    public VectorSchemaRoot request() {
        return request;
    }

    /**
     * Sends the request root with {@code metadata} and waits for the reply, whose root stays valid
     * until the next exchange. {@code what} names the message in errors.
     */
    public synchronized VectorSchemaRoot exchange(MessageLite metadata, String what) {
        long start = System.nanoTime();
        boolean expired = false;
        try {
            FrameChannel channel = connected();
            FrameChannel.Kind kind;
            deadline.arm(channel::close);
            try {
                channel.sendBatch(metadata.toByteArray(), request);
                kind = channel.receive();
            } finally {
                expired = deadline.disarm();
            }
            switch (kind) {
                case BATCH -> {
                    channel.metadata(); // a reply's is empty
                    channel.load(reply, allocator);
                    return reply;
                }
                case REFUSED -> throw PeerFailureException.refused(peer, what + " refused: " + channel.reason(), null);
                case FAILED -> throw PeerFailureException.unanswered(peer, what + " failed: " + channel.reason(), null, start);
                default -> throw PeerFailureException.refused(peer, what + ": a " + kind + " frame where a reply belongs", null);
            }
        } catch (PeerFailureException e) {
            discard();
            throw e;
        } catch (IOException | RuntimeException e) {
            discard();
            if (expired) {
                throw PeerFailureException.unanswered(peer, what + ": no reply within " + deadlines.timeout().toMillis() + " ms", null, start);
            }
            throw PeerFailureException.unanswered(peer, what + " failed", e, start);
        }
    }

    private FrameChannel connected() throws IOException {
        if (open == null) {
            FrameChannel channel = new FrameChannel(sockets.connect(peer, deadlines.timeout()));
            try {
                channel.sendHello(stream, request.getSchema());
            } catch (IOException e) {
                channel.close();
                throw e;
            }
            open = channel;
        }
        return open;
    }

    /** Drops a failed connection: what it held is lost with the message that failed. */
    private void discard() {
        if (open != null) {
            open.close();
            open = null;
        }
    }

    @Override
    public synchronized void close() {
        discard();
        deadline.release();
        request.close();
        reply.close();
    }
}
