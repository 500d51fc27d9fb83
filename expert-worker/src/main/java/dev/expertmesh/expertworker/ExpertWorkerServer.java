package dev.expertmesh.expertworker;

import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.LocalExpertStage;
import dev.expertmesh.transport.HostedExperts;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.Location;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.util.Arrays;

/**
 * An expert worker: a Flight server hosting some routed experts of a checkpoint (and every shared
 * expert and dense MLP) for one placement epoch.
 */
public final class ExpertWorkerServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ExpertWorkerServer.class);

    private final String name;
    private final FlightServer server;
    private final BufferAllocator allocator;
    private final Arena arena;

    private ExpertWorkerServer(String name, FlightServer server, BufferAllocator allocator, Arena arena) {
        this.name = name;
        this.server = server;
        this.allocator = allocator;
        this.arena = arena;
    }

    /**
     * Maps the hosted experts of {@code weights} (which must outlive the server) and serves them on
     * host:port (port 0 picks a free one).
     */
    public static ExpertWorkerServer start(String name, String host, int port, TensorSource weights, ModelConfig config,
                                           Backend backend, HostedExperts hosted, long epoch) {
        Arena arena = Arena.ofShared();
        BufferAllocator allocator = new RootAllocator();
        try {
            LocalExpertStage experts = LocalExpertStage.load(weights, config, backend, arena, hosted.routedByLayer());
            FlightServer server = FlightServer.builder(allocator, Location.forGrpcInsecure(host, port),
                    new ExpertExchangeProducer(name, experts, config.hiddenSize(), epoch, allocator)).build().start();
            log.info("Expert worker {} serves epoch {} on {} with routed experts {}", name, epoch, server.getLocation().getUri(),
                    hosted.routedByLayer().entrySet().stream().map(e -> e.getKey() + ":" + Arrays.toString(e.getValue())).toList());
            return new ExpertWorkerServer(name, server, allocator, arena);
        } catch (IOException e) {
            allocator.close();
            arena.close();
            throw new UncheckedIOException(name + " could not listen on " + host + ":" + port, e);
        }
    }

    public String name() {
        return name;
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
        arena.close();
        log.info("Expert worker {} stopped", name);
    }
}
