package dev.expertmesh.transport;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.channels.ClosedChannelException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A worker's data plane: one reply batch of hidden rows per request batch ({@link FrameChannel}), each connection
 * read and answered by a thread of its own, so a request goes from the socket to its handler with no hand-off.
 * A handler's failure is sent to the client, prefixed with the worker's name, and ends the connection: an
 * IllegalArgumentException or IllegalStateException as REFUSED (the message was wrong for this worker), anything
 * else as FAILED.
 */
public final class DataPlaneServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DataPlaneServer.class);
    /** A reply is its rows alone. */
    private static final byte[] NO_METADATA = new byte[0];

    /** Answers one request batch by filling {@code reply}. */
    @FunctionalInterface
    public interface Handler {
        void answer(VectorSchemaRoot request, byte[] metadata, VectorSchemaRoot reply);
    }

    private final String name;
    private final String stream;
    private final ServerSocket listener;
    private final BufferAllocator allocator;
    private final Handler handler;
    /** Each open connection and the thread serving it. */
    private final Map<Socket, Thread> connections = new ConcurrentHashMap<>();
    private final Thread acceptor;

    private DataPlaneServer(String name, String stream, ServerSocket listener, BufferAllocator allocator, Handler handler) {
        this.name = name;
        this.stream = stream;
        this.listener = listener;
        this.allocator = allocator;
        this.handler = handler;
        this.acceptor = Thread.ofPlatform().daemon().name(name + "-data-plane").start(this::accept);
    }

    /**
     * Serves streams of kind {@code stream} on host:port (port 0 picks a free one), with {@code sockets}' TLS if it
     * has any; batches' buffers come from {@code allocator}.
     */
    public static DataPlaneServer start(String name, String stream, String host, int port, DataPlaneSockets sockets,
                                        BufferAllocator allocator, Handler handler) {
        try {
            return new DataPlaneServer(name, stream, sockets.listen(host, port), allocator, handler);
        } catch (IOException e) {
            throw new UncheckedIOException(name + " could not listen for its data plane on " + host + ":" + port + ": " + e.getMessage()
                    + " (give another data-port, or 0 for any free one)", e);
        }
    }

    public int port() {
        return listener.getLocalPort();
    }

    private void accept() {
        int accepted = 0;
        while (!listener.isClosed()) {
            try {
                Socket socket = listener.accept();
                Thread server = Thread.ofPlatform().daemon().name(name + "-data-plane-" + ++accepted).unstarted(() -> serve(socket));
                connections.put(socket, server);
                server.start();
            } catch (IOException e) {
                if (!listener.isClosed()) {
                    log.warn("{}: accepting a data-plane connection failed: {}", name, e.getMessage());
                }
            }
        }
    }

    private void serve(Socket socket) {
        String client = String.valueOf(socket.getRemoteSocketAddress());
        try (FrameChannel channel = new FrameChannel(socket)) {
            serve(channel, client);
        } catch (IOException e) {
            log.debug("{}: data-plane connection from {} could not start: {}", name, client, e.toString());
        } finally {
            connections.remove(socket);
        }
    }

    private void serve(FrameChannel channel, String client) {
        VectorSchemaRoot request = null;
        VectorSchemaRoot reply = null;
        try {
            if (channel.receive() != FrameChannel.Kind.HELLO) {
                throw new IllegalArgumentException("the stream did not open with a HELLO");
            }
            FrameChannel.Hello hello = channel.hello();
            if (hello.version() != FrameChannel.VERSION) {
                throw new IllegalArgumentException("data-plane version " + hello.version() + ", and this worker speaks "
                        + FrameChannel.VERSION + ": run the same ExpertMesh release on every node");
            }
            if (!hello.stream().equals(stream)) {
                throw new IllegalArgumentException("a " + hello.stream() + " stream, and this worker serves " + stream
                        + " streams: check which address the coordinator was given for it");
            }
            request = VectorSchemaRoot.create(hello.schema(), allocator);
            reply = VectorSchemaRoot.create(DataPlaneSchemas.reply(hello.schema()), allocator);
            while (true) {
                if (channel.receive() != FrameChannel.Kind.BATCH) {
                    throw new IllegalArgumentException("a frame other than a batch within a stream");
                }
                byte[] metadata = channel.metadata();
                channel.load(request, allocator);
                handler.answer(request, metadata, reply);
                channel.sendBatch(NO_METADATA, reply);
            }
        } catch (EOFException | SocketException | ClosedChannelException e) {
            // The client closed its stream (a coordinator moving to a new shard map, or stopping, is routine), or this server stopped.
            log.debug("{}: the stream from {} ended: {}", name, client, e.toString());
        } catch (IOException e) {
            log.warn("{}: the stream from {} broke: {}", name, client, e.getMessage());
        } catch (IllegalArgumentException | IllegalStateException e) {
            log.warn("{}: refused a batch: {}", name, e.getMessage());
            answerError(channel, FrameChannel.Kind.REFUSED, e.getMessage());
        } catch (RuntimeException e) {
            log.error("{}: failed on a batch", name, e);
            answerError(channel, FrameChannel.Kind.FAILED, e.toString());
        } finally {
            if (request != null) {
                request.close();
            }
            if (reply != null) {
                reply.close();
            }
        }
    }

    private void answerError(FrameChannel channel, FrameChannel.Kind kind, String reason) {
        try {
            channel.sendError(kind, name + ": " + reason);
        } catch (IOException e) {
            log.debug("{}: the client left before hearing why: {}", name, e.getMessage());
        }
    }

    /**
     * Stops listening and ends every open stream, whose clients see the connection close; waits for a batch being
     * answered to finish, so that the allocator may be closed after.
     */
    @Override
    public void close() throws InterruptedException {
        try {
            listener.close();
        } catch (IOException e) {
            log.debug("{}: closing the data-plane listener: {}", name, e.getMessage());
        }
        acceptor.join();
        Map<Socket, Thread> open = Map.copyOf(connections);
        for (Socket socket : open.keySet()) {
            try {
                socket.close();
            } catch (IOException e) {
                log.debug("{}: closing a data-plane connection: {}", name, e.getMessage());
            }
        }
        for (Thread server : open.values()) {
            server.join();
        }
    }
}
