package dev.expertmesh.transport;

import com.google.protobuf.MessageLite;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Request and reply over one long-lived DoExchange stream to a peer: a DoExchange round trip costs
 * far less than opening a call, so the stream stays open across messages and the request root and
 * its buffers are reused. The stream has no gRPC deadline (it would end the stream); each reply
 * instead has its own, after which the stream is cancelled. A failed stream is reopened by the
 * next exchange, so one refused message does not disable the peer.
 */
public final class ExchangeStream implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ExchangeStream.class);

    private final Peer peer;
    private final FlightClient client;
    private final FlightDescriptor descriptor;
    private final BufferAllocator allocator;
    private final VectorSchemaRoot request;
    private final ScheduledExecutorService deadlines;
    private final Duration replyTimeout;
    private FlightClient.ExchangeReaderWriter open;

    public ExchangeStream(Peer peer, FlightClient client, FlightDescriptor descriptor, Schema requestSchema,
                          BufferAllocator allocator, ScheduledExecutorService deadlines, Duration replyTimeout) {
        this.peer = peer;
        this.client = client;
        this.descriptor = descriptor;
        this.allocator = allocator;
        this.request = VectorSchemaRoot.create(requestSchema, allocator);
        this.deadlines = deadlines;
        this.replyTimeout = replyTimeout;
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
        AtomicBoolean expired = new AtomicBoolean();
        ScheduledFuture<?> deadline = null;
        long start = System.nanoTime();
        try {
            if (open == null) {
                open = client.doExchange(descriptor);
                open.getWriter().start(request);
            }
            FlightStream reader = open.getReader();
            deadline = deadlines.schedule(() -> {
                expired.set(true);
                reader.cancel("no reply within " + replyTimeout, null);
            }, replyTimeout.toNanos(), TimeUnit.NANOSECONDS);
            open.getWriter().putNext(AppMetadata.write(metadata, allocator));
            if (!reader.next()) {
                throw PeerFailureException.unanswered(peer, what + ": the stream ended without a reply", null, start);
            }
            return reader.getRoot();
        } catch (PeerFailureException e) {
            discard();
            throw e;
        } catch (RuntimeException e) {
            discard();
            if (expired.get()) {
                throw PeerFailureException.unanswered(peer, what + ": no reply within " + replyTimeout.toMillis() + " ms", null, start);
            }
            if (e instanceof FlightRuntimeException flight && answered(flight.status().code())) {
                throw PeerFailureException.refused(peer, what + " refused", e);
            }
            throw PeerFailureException.unanswered(peer, what + " failed", e, start);
        } finally {
            if (deadline != null) {
                deadline.cancel(false);
            }
        }
    }

    /**
     * The code a worker sends itself when it refuses a message (see ExchangeResponder): it is alive.
     * Not INTERNAL, which gRPC also gives a stream reset by a dying server.
     */
    private static boolean answered(FlightStatusCode code) {
        return code == FlightStatusCode.INVALID_ARGUMENT;
    }

    /** Drops a failed stream; its error has been reported, so closing it may fail quietly. */
    private void discard() {
        if (open == null) {
            return;
        }
        try {
            open.getReader().cancel("discarded after a failure", null);
            open.close();
        } catch (Exception e) {
            log.debug("Closing the failed stream to {}: {}", peer, e.toString());
        }
        open = null;
    }

    @Override
    public synchronized void close() {
        if (open != null) {
            try {
                open.getWriter().completed();
                open.close();
            } catch (Exception e) {
                log.debug("Closing the stream to {}: {}", peer, e.toString());
            }
            open = null;
        }
        request.close();
    }
}
