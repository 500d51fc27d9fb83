package dev.expertmesh.transport;

import org.apache.arrow.flight.FlightProducer;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.Location;
import org.apache.arrow.memory.BufferAllocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;

/** A worker's Flight server and the allocator its streams' buffers come from. */
public record FlightEndpoint(String name, FlightServer server, BufferAllocator allocator) implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(FlightEndpoint.class);

    /** Serves {@code producer} on host:port (port 0 picks a free one). */
    public static FlightEndpoint start(String name, String host, int port, BufferAllocator allocator, FlightProducer producer) {
        try {
            return new FlightEndpoint(name, FlightServer.builder(allocator, Location.forGrpcInsecure(host, port), producer).build().start(),
                    allocator);
        } catch (IOException e) {
            throw new UncheckedIOException(name + " could not listen on " + host + ":" + port, e);
        }
    }

    public Location location() {
        return server.getLocation();
    }

    public int port() {
        return server.getPort();
    }

    /** Stops serving; streams still open after Flight's grace period end with an error on their clients. */
    @Override
    public void close() throws InterruptedException {
        server.close();
        try {
            allocator.close();
        } catch (IllegalStateException e) {
            // Streams cut off by the shutdown may still hold buffers that gRPC frees later.
            log.warn("{}: Arrow buffers still held at shutdown: {}", name, e.getMessage());
        }
    }
}
