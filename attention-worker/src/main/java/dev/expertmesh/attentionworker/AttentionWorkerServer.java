package dev.expertmesh.attentionworker;

import dev.expertmesh.attention.CacheBlocks;
import dev.expertmesh.attention.ResidentAttentionStage;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.engine.ComputeDevice;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.proto.Role;
import dev.expertmesh.transport.DataPlaneSchemas;
import dev.expertmesh.transport.HealthReport;
import dev.expertmesh.transport.Peer;
import dev.expertmesh.transport.TlsFiles;
import dev.expertmesh.transport.WorkerEndpoint;
import dev.expertmesh.quantization.QuantizationPlan;
import org.apache.arrow.flight.Location;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.util.Optional;

/**
 * An attention worker: a data plane running every layer's attention of a checkpoint for the sequences
 * assigned to it, their latent caches in a fixed pool of blocks, and a Flight server for its actions on
 * that pool and its health.
 */
public final class AttentionWorkerServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AttentionWorkerServer.class);

    private final WorkerEndpoint endpoint;
    private final ResidentAttentionStage attention;
    private final Arena arena;
    private final HealthReport health;

    private AttentionWorkerServer(WorkerEndpoint endpoint, ResidentAttentionStage attention, Arena arena, HealthReport health) {
        this.endpoint = endpoint;
        this.attention = attention;
        this.arena = arena;
        this.health = health;
    }

    /**
     * Loads the attention weights of {@code weights} (which must outlive the server) on {@code device}
     * and serves on free ports of host with a cache, in the device's memory, of {@code cacheBlocks} blocks of
     * {@code blockTokens} tokens ({@link CacheBlocks#DEFAULT_BLOCK_TOKENS} by default), in plain text. The
     * projections are stored as {@code plan} says of attention.
     */
    public static AttentionWorkerServer start(String name, String host, TensorSource weights, ModelConfig config,
                                              ComputeDevice device, QuantizationPlan plan, int blockTokens, int cacheBlocks) {
        return start(name, host, 0, 0, weights, config, device, plan, blockTokens, cacheBlocks, Optional.empty());
    }

    /**
     * As above, with its actions on host:port and its data plane on host:dataPort (0 picks a free one); with
     * {@code tls}, over mutual TLS: only clients with a certificate of its CA may connect.
     */
    public static AttentionWorkerServer start(String name, String host, int port, int dataPort, TensorSource weights, ModelConfig config,
                                              ComputeDevice device, QuantizationPlan plan, int blockTokens, int cacheBlocks,
                                              Optional<TlsFiles> tls) {
        Arena arena = Arena.ofShared();
        BufferAllocator allocator = new RootAllocator();
        ResidentAttentionStage attention = null;
        try {
            attention = device.attention(weights, config, arena, plan, blockTokens, cacheBlocks);
            HealthReport health = new HealthReport(Role.ATTENTION_WORKER);
            var producer = new AttentionExchangeProducer(name, attention, config.hiddenSize(), health);
            WorkerEndpoint endpoint = WorkerEndpoint.start(name, host, port, dataPort, allocator, producer, DataPlaneSchemas.ATTENTION_STREAM,
                    producer, tls);
            log.info("Attention worker {} serves on {} and data plane port {} ({}, attention {}) with {} cache blocks of {} tokens", name,
                    endpoint.location().getUri(), endpoint.dataPort(), device.name(), plan.attentionAndDense().label(), cacheBlocks, blockTokens);
            return new AttentionWorkerServer(endpoint, attention, arena, health);
        } catch (RuntimeException e) {
            if (attention != null) {
                attention.close();
            }
            allocator.close();
            arena.close();
            throw e;
        }
    }

    public String name() {
        return endpoint.name();
    }

    public Location location() {
        return endpoint.location();
    }

    public int port() {
        return endpoint.port();
    }

    public int dataPort() {
        return endpoint.dataPort();
    }

    /** This worker as a coordinator on {@code host} reaches it. */
    public Peer peer(String host) {
        return endpoint.peer(host);
    }

    /** What the "health" action answers; LOADING until set. */
    public HealthReport health() {
        return health;
    }

    @Override
    public void close() throws InterruptedException {
        endpoint.close();
        attention.close();
        arena.close();
        log.info("Attention worker {} stopped", endpoint.name());
    }
}
