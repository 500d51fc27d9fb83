package dev.expertmesh.coordinator.dispatch;

import dev.expertmesh.transport.DataPlaneSockets;
import dev.expertmesh.transport.ExchangeStream;
import dev.expertmesh.transport.FlightClients;
import dev.expertmesh.transport.Peer;
import dev.expertmesh.transport.PeerFailureException;
import dev.expertmesh.transport.ReplyDeadlines;
import dev.expertmesh.transport.TlsFiles;
import org.apache.arrow.flight.Action;
import org.apache.arrow.flight.CallOptions;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.Result;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.types.pojo.Schema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The exchange streams, Flight clients (for actions) and threads a remote stage uses to reach its peers,
 * closed together: one stream per peer, stream kind and micro-batch, and one client per peer it sends actions.
 */
final class PeerConnections implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PeerConnections.class);

    private final BufferAllocator allocator = new RootAllocator();
    private final Map<Peer, FlightClient> clients = new ConcurrentHashMap<>();
    private final Map<Peer, List<ExchangeStream>> streams = new HashMap<>();
    private final ReplyDeadlines deadlines;
    /** Waiting on a peer is all these threads do, so a virtual thread per message is cheap. */
    private final ExecutorService senders = Executors.newVirtualThreadPerTaskExecutor();
    private final Duration replyTimeout;
    private final Optional<TlsFiles> tls;
    private final DataPlaneSockets sockets;

    PeerConnections(Duration replyTimeout, Optional<TlsFiles> tls) {
        this.replyTimeout = replyTimeout;
        this.deadlines = new ReplyDeadlines(replyTimeout);
        this.tls = tls;
        this.sockets = DataPlaneSockets.of(tls);
    }

    Duration replyTimeout() {
        return replyTimeout;
    }

    ExecutorService senders() {
        return senders;
    }

    /** A stream of {@code kind} (one of DataPlaneSchemas' streams) to {@code peer}, connected at its first exchange. */
    synchronized ExchangeStream stream(Peer peer, String kind, Schema requestSchema) {
        ExchangeStream stream = new ExchangeStream(peer, sockets, kind, requestSchema, allocator, deadlines);
        streams.computeIfAbsent(peer, _ -> new ArrayList<>()).add(stream);
        return stream;
    }

    /** Runs the action on the peer and returns its results, within the reply timeout. */
    List<Result> doAction(Peer peer, Action action) {
        try {
            Iterator<Result> results = client(peer).doAction(action, CallOptions.timeout(replyTimeout.toMillis(), TimeUnit.MILLISECONDS));
            List<Result> all = new ArrayList<>();
            results.forEachRemaining(all::add);
            return all;
        } catch (RuntimeException e) {
            throw PeerFailureException.unanswered(peer, "action " + action.getType() + " failed", e);
        }
    }

    private FlightClient client(Peer peer) {
        return clients.computeIfAbsent(peer, p -> FlightClients.open(allocator, p.location(), tls));
    }

    /**
     * Closes the streams to {@code peer} and its client: a worker routed around must not keep
     * connections nobody will use again. Call it when none of them is in use.
     */
    synchronized void disconnect(Peer peer) {
        streams.getOrDefault(peer, List.of()).forEach(ExchangeStream::close);
        streams.remove(peer);
        FlightClient client = clients.remove(peer);
        if (client != null) {
            closeQuietly(peer, client);
        }
    }

    private static void closeQuietly(Peer peer, FlightClient client) {
        try {
            client.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            log.debug("Closing the client of {}: {}", peer, e.toString());
        }
    }

    @Override
    public synchronized void close() {
        senders.shutdownNow();
        streams.values().forEach(peerStreams -> peerStreams.forEach(ExchangeStream::close));
        clients.forEach(PeerConnections::closeQuietly);
        deadlines.close();
        allocator.close();
    }
}
