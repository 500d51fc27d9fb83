package dev.expertmesh.expertworker;

import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.engine.ComputeDevice;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertLoader;
import dev.expertmesh.moe.ExpertStage;
import dev.expertmesh.placement.EpochWindow;
import dev.expertmesh.placement.HostedExperts;
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
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.StringJoiner;
import java.util.stream.Collectors;

/**
 * An expert worker: a data plane serving some routed experts of a checkpoint (and every shared expert
 * and dense MLP) for a window of placement epochs, and a Flight server for its health.
 */
public final class ExpertWorkerServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ExpertWorkerServer.class);

    private final WorkerEndpoint endpoint;
    private final ExpertExchangeProducer producer;
    private final ExpertLoader experts;
    /** Outlives every assignment: a batch of the old epoch may still be running on its experts. */
    private final Arena arena;
    private final HealthReport health;

    private ExpertWorkerServer(WorkerEndpoint endpoint, ExpertExchangeProducer producer, ExpertLoader experts, Arena arena,
                               HealthReport health) {
        this.endpoint = endpoint;
        this.producer = producer;
        this.experts = experts;
        this.arena = arena;
        this.health = health;
    }

    /**
     * Loads the hosted experts of {@code weights} (which must outlive the server) on {@code device},
     * stored as {@code plan} says (so are those later assignments add), and serves them on free ports
     * of host, in plain text.
     */
    public static ExpertWorkerServer start(String name, String host, TensorSource weights, ModelConfig config,
                                           ComputeDevice device, QuantizationPlan plan, HostedExperts hosted, long epoch) {
        return start(name, host, 0, 0, weights, config, device, plan, hosted, epoch, Optional.empty());
    }

    /**
     * As above, with its health on host:port and its data plane on host:dataPort (0 picks a free one); with
     * {@code tls}, over mutual TLS: only clients with a certificate of its CA may connect.
     */
    public static ExpertWorkerServer start(String name, String host, int port, int dataPort, TensorSource weights, ModelConfig config,
                                           ComputeDevice device, QuantizationPlan plan, HostedExperts hosted, long epoch,
                                           Optional<TlsFiles> tls) {
        Arena arena = Arena.ofShared();
        BufferAllocator allocator = new RootAllocator();
        ExpertLoader experts = null;
        try {
            experts = device.experts(weights, config, arena, plan);
            HealthReport health = new HealthReport(Role.EXPERT_WORKER);
            var producer = new ExpertExchangeProducer(name, load(experts, hosted, new EpochWindow(epoch, epoch)), config.hiddenSize(), health);
            WorkerEndpoint endpoint = WorkerEndpoint.start(name, host, port, dataPort, allocator, producer, DataPlaneSchemas.EXPERT_STREAM,
                    producer, tls);
            log.info("Expert worker {} serves epoch {} on {} and data plane port {} ({}, experts {}, dense MLPs {}) with routed experts {}",
                    name, epoch, endpoint.location().getUri(), endpoint.dataPort(), device.name(), plan.experts().label(), plan.attentionAndDense().label(), describe(hosted));
            return new ExpertWorkerServer(endpoint, producer, experts, arena, health);
        } catch (RuntimeException e) {
            if (experts != null) {
                experts.close();
            }
            allocator.close();
            arena.close();
            throw e;
        }
    }

    /**
     * Loads {@code hosted} (on a GPU: uploads those not there yet, frees those left out), then serves
     * them for batches of the window's epochs.
     */
    public void assign(HostedExperts hosted, EpochWindow epochs) {
        producer.assign(load(experts, hosted, epochs));
        log.info("Expert worker {} serves epochs {}..{} with routed experts {}", endpoint.name(), epochs.serving(), epochs.loaded(),
                describe(hosted));
    }

    private static ExpertExchangeProducer.Assignment load(ExpertLoader experts, HostedExperts hosted, EpochWindow epochs) {
        return new ExpertExchangeProducer.Assignment(experts.load(hosted.routedByLayer()), epochs);
    }

    /** Layer by layer, runs of expert ids as ranges: "1:[0-7] 2:[0-7]", or "none". */
    private static String describe(HostedExperts hosted) {
        String layers = hosted.routedByLayer().entrySet().stream()
                .filter(e -> e.getValue().length > 0)
                .sorted(Map.Entry.comparingByKey())
                .map(e -> e.getKey() + ":[" + ranges(e.getValue()) + "]")
                .collect(Collectors.joining(" "));
        return layers.isEmpty() ? "none" : layers;
    }

    private static String ranges(int[] ids) {
        int[] sorted = ids.clone();
        Arrays.sort(sorted);
        StringJoiner out = new StringJoiner(",");
        for (int start = 0, end; start < sorted.length; start = end + 1) {
            end = start;
            while (end + 1 < sorted.length && sorted[end + 1] == sorted[end] + 1) {
                end++;
            }
            out.add(end == start ? Integer.toString(sorted[start]) : sorted[start] + "-" + sorted[end]);
        }
        return out.toString();
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

    /** The experts it serves now, for batches of every epoch of its window: what it holds in memory. */
    public ExpertStage experts() {
        return producer.experts();
    }

    /** What the "health" action answers; LOADING until set. */
    public HealthReport health() {
        return health;
    }

    @Override
    public void close() throws InterruptedException {
        endpoint.close();
        experts.close();
        arena.close();
        log.info("Expert worker {} stopped", endpoint.name());
    }
}
