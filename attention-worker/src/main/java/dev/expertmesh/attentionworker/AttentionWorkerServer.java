package dev.expertmesh.attentionworker;

import dev.expertmesh.attention.LatentBlockPool;
import dev.expertmesh.attention.LocalAttentionStage;
import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.model.ModelConfig;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.Location;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;

/**
 * An attention worker: a Flight server running every layer's attention of a checkpoint for the
 * sequences assigned to it, their latent caches in a fixed pool of blocks.
 */
public final class AttentionWorkerServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AttentionWorkerServer.class);

    private final String name;
    private final FlightServer server;
    private final BufferAllocator allocator;
    private final Arena arena;

    private AttentionWorkerServer(String name, FlightServer server, BufferAllocator allocator, Arena arena) {
        this.name = name;
        this.server = server;
        this.allocator = allocator;
        this.arena = arena;
    }

    /**
     * Maps the attention weights of {@code weights} (which must outlive the server) and serves on
     * host:port (port 0 picks a free one) with a cache of {@code cacheBlocks} blocks of
     * {@code blockTokens} tokens ({@link LatentBlockPool#DEFAULT_BLOCK_TOKENS} by default).
     */
    public static AttentionWorkerServer start(String name, String host, int port, TensorSource weights, ModelConfig config,
                                              Backend backend, int blockTokens, int cacheBlocks) {
        Arena arena = Arena.ofShared();
        BufferAllocator allocator = new RootAllocator();
        try {
            LatentBlockPool pool = new LatentBlockPool(config.numHiddenLayers(), config.latentCacheWidth(), blockTokens, cacheBlocks);
            LocalAttentionStage attention = LocalAttentionStage.load(weights, config, backend, arena, pool);
            FlightServer server = FlightServer.builder(allocator, Location.forGrpcInsecure(host, port),
                    new AttentionExchangeProducer(name, attention, config.hiddenSize(), allocator)).build().start();
            log.info("Attention worker {} serves on {} with {} cache blocks of {} tokens", name, server.getLocation().getUri(),
                    cacheBlocks, blockTokens);
            return new AttentionWorkerServer(name, server, allocator, arena);
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
        log.info("Attention worker {} stopped", name);
    }
}
