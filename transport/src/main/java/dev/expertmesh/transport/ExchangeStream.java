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

/**
 * Request and reply over one long-lived DoExchange stream to a peer: a DoExchange round trip costs
 * far less than opening a call, so the stream stays open across messages and the request root and
 * its buffers are reused. The stream has no gRPC deadline (it would end the stream); each reply
 * instead has its own ({@link ReplyDeadlines}), after which the stream is cancelled. A failed
 * stream is reopened by the next exchange, so one refused message does not disable the peer.
 */
public final class ExchangeStream implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ExchangeStream.class);

    private final Peer peer;
    private final FlightClient client;
    private final FlightDescriptor descriptor;
    private final BufferAllocator allocator;
    private final VectorSchemaRoot request;
    private final ReplyDeadlines deadlines;
    private final ReplyDeadlines.Deadline deadline;
    private FlightClient.ExchangeReaderWriter open;

    public ExchangeStream(Peer peer, FlightClient client, FlightDescriptor descriptor, Schema requestSchema,
                          BufferAllocator allocator, ReplyDeadlines deadlines) {
        this.peer = peer;
        this.client = client;
        this.descriptor = descriptor;
        this.allocator = allocator;
        this.request = VectorSchemaRoot.create(requestSchema, allocator);
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
            if (open == null) {
                open = client.doExchange(descriptor);
                open.getWriter().start(request);
            }
            FlightStream reader = open.getReader();
            boolean replied;
            deadline.arm(() -> reader.cancel("no reply within " + replyTimeout(), null));
            try {
                open.getWriter().putNext(AppMetadata.write(metadata, allocator));
                replied = reader.next();
            } finally {
                expired = deadline.disarm();
            }
            if (expired) {
                throw noReplyInTime(what, start);
            }
            if (!replied) {
                throw PeerFailureException.unanswered(peer, what + ": the stream ended without a reply", null, start);
            }
            return reader.getRoot();
        } catch (PeerFailureException e) {
            discard();
            throw e;
        } catch (RuntimeException e) {
            discard();
            if (expired) {
                throw noReplyInTime(what, start);
            }
            if (e instanceof FlightRuntimeException flight && answered(flight.status().code())) {
                throw PeerFailureException.refused(peer, what + " refused", e);
            }
            throw PeerFailureException.unanswered(peer, what + " failed", e, start);
        }
    }

    private PeerFailureException noReplyInTime(String what, long start) {
        return PeerFailureException.unanswered(peer, what + ": no reply within " + replyTimeout().toMillis() + " ms", null, start);
    }

    private Duration replyTimeout() {
        return deadlines.timeout();
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
        deadline.release();
        request.close();
    }
}
