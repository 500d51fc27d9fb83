package dev.expertmesh.transport;

import org.apache.arrow.flight.FlightProducer;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.LocationSchemes;
import org.apache.arrow.memory.BufferAllocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Optional;

/**
 * A worker's two listeners and the allocator of their buffers: its data plane ({@link DataPlaneServer}), which
 * answers a step's batches, and a Flight server for its actions (health, and an attention worker's cache), whose
 * calls are few and may take their time.
 */
public record WorkerEndpoint(String name, FlightServer actions, DataPlaneServer dataPlane, BufferAllocator allocator)
        implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WorkerEndpoint.class);

    /**
     * Serves {@code producer}'s actions on host:port and streams of kind {@code stream} with {@code handler} on
     * host:dataPort (port 0 picks a free one); with {@code tls}, both over TLS, to clients presenting a certificate
     * signed by its CA only.
     */
    public static WorkerEndpoint start(String name, String host, int port, int dataPort, BufferAllocator allocator,
                                       FlightProducer producer, String stream, DataPlaneServer.Handler handler,
                                       Optional<TlsFiles> tls) {
        FlightServer actions = startActions(name, host, port, allocator, producer, tls);
        try {
            DataPlaneServer dataPlane = DataPlaneServer.start(name, stream, host, dataPort, DataPlaneSockets.of(tls), allocator, handler);
            return new WorkerEndpoint(name, actions, dataPlane, allocator);
        } catch (RuntimeException e) {
            try {
                actions.close();
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
            }
            throw e;
        }
    }

    private static FlightServer startActions(String name, String host, int port, BufferAllocator allocator, FlightProducer producer,
                                             Optional<TlsFiles> tls) {
        try {
            Location location = tls.isPresent() ? Location.forGrpcTls(host, port) : Location.forGrpcInsecure(host, port);
            FlightServer.Builder builder = FlightServer.builder(allocator, location, producer);
            if (tls.isPresent()) {
                builder.useTls(tls.get().certificateChain(), tls.get().keyPkcs8()).useMTlsClientVerification(tls.get().caCertificates());
            }
            return builder.build().start();
        } catch (IOException e) {
            throw new UncheckedIOException(name + " could not listen on " + host + ":" + port, e);
        }
    }

    public Location location() {
        return actions.getLocation();
    }

    public int port() {
        return actions.getPort();
    }

    public int dataPort() {
        return dataPlane.port();
    }

    /** This worker as a client on {@code host} reaches it. */
    public Peer peer(String host) {
        return Peer.of(name, host, port(), dataPort(), LocationSchemes.GRPC_TLS.equals(location().getUri().getScheme()));
    }

    /** Stops serving; open streams end, and action calls still running after Flight's grace period end with an error. */
    @Override
    public void close() throws InterruptedException {
        dataPlane.close();
        actions.close();
        try {
            allocator.close();
        } catch (IllegalStateException e) {
            log.warn("{}: Arrow buffers still held at shutdown: {}", name, e.getMessage());
        }
    }
}
