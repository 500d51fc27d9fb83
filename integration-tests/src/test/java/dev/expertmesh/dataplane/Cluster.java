package dev.expertmesh.dataplane;

import dev.expertmesh.attentionworker.AttentionWorkerServer;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.coordinator.dispatch.DispatchPlan;
import dev.expertmesh.coordinator.dispatch.DistributedModel;
import dev.expertmesh.coordinator.dispatch.ExpertFailover;
import dev.expertmesh.coordinator.dispatch.ExpertPeer;
import dev.expertmesh.coordinator.dispatch.ReplicaLoads;
import dev.expertmesh.engine.ComputeDevice;
import dev.expertmesh.engine.CpuDevice;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.expertworker.ExpertWorkerServer;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.placement.EpochWindow;
import dev.expertmesh.placement.HostedExperts;
import dev.expertmesh.transport.Peer;
import dev.expertmesh.transport.TransportOptions;
import dev.expertmesh.quantization.QuantizationPlan;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Workers of one fixture model on 127.0.0.1 ephemeral ports, and coordinators connected to them. */
final class Cluster implements AutoCloseable {
    static final long EPOCH = 1;
    static final int BLOCK_TOKENS = 16;
    static final int CACHE_BLOCKS = 64;

    final Path modelDir;
    final ModelConfig config;
    private final TensorSource weights;
    /** Where the workers compute (the coordinators on the CPU). */
    private final ComputeDevice device;
    /** How the workers store the weights they load. */
    private final QuantizationPlan plan;
    private final List<AutoCloseable> servers = new ArrayList<>();

    Cluster(Path modelDir) {
        this(modelDir, new CpuDevice(), QuantizationPlan.NONE);
    }

    /** Workers on {@code device}, which the caller closes after the cluster, storing their weights as {@code plan} says. */
    Cluster(Path modelDir, ComputeDevice device, QuantizationPlan plan) {
        this.modelDir = modelDir;
        this.config = ModelConfig.load(modelDir);
        this.weights = Checkpoint.open(modelDir);
        this.device = device;
        this.plan = plan;
    }

    /** {@code count} expert workers with the routed experts striped over them. */
    List<ExpertPeer> startExpertWorkers(String prefix, int count, long epoch) {
        List<ExpertPeer> peers = new ArrayList<>();
        for (int w = 0; w < count; w++) {
            peers.add(startExpertWorker(prefix + w, HostedExperts.striped(config, w, count), epoch));
        }
        return peers;
    }

    ExpertPeer startExpertWorker(String name, HostedExperts hosted, long epoch) {
        ExpertWorkerServer server = ExpertWorkerServer.start(name, "127.0.0.1", weights, config, device, plan, hosted, epoch);
        servers.add(server);
        return new ExpertPeer(server.peer("127.0.0.1"), hosted);
    }

    /** Moves the named expert worker to a new shard map's experts, as its node does when the map changes. */
    ExpertPeer reassign(String name, HostedExperts hosted, long epoch) {
        ExpertWorkerServer worker = expertWorker(name);
        worker.assign(hosted, new EpochWindow(epoch, epoch));
        return new ExpertPeer(worker.peer("127.0.0.1"), hosted);
    }

    ExpertWorkerServer expertWorker(String name) {
        return servers.stream().filter(s -> s instanceof ExpertWorkerServer w && w.name().equals(name))
                .map(ExpertWorkerServer.class::cast).findFirst().orElseThrow(() -> new IllegalArgumentException("no expert worker " + name));
    }

    /** Shuts the named worker down while its clients still hold streams to it. */
    void stopWorker(String name) throws InterruptedException {
        for (AutoCloseable server : servers) {
            String serving = server instanceof ExpertWorkerServer e ? e.name() : server instanceof AttentionWorkerServer a ? a.name() : null;
            if (name.equals(serving)) {
                try {
                    server.close();
                } catch (InterruptedException e) {
                    throw e;
                } catch (Exception e) {
                    throw new IllegalStateException("stopping " + name, e);
                }
                servers.remove(server);
                return;
            }
        }
        throw new IllegalArgumentException("no worker " + name);
    }

    List<AttentionWorkerServer> startAttentionWorkers(String prefix, int count) {
        List<AttentionWorkerServer> started = new ArrayList<>();
        for (int w = 0; w < count; w++) {
            AttentionWorkerServer server = AttentionWorkerServer.start(prefix + w, "127.0.0.1", weights, config, device,
                    plan, BLOCK_TOKENS, CACHE_BLOCKS);
            servers.add(server);
            started.add(server);
        }
        return started;
    }

    static List<Peer> peers(List<AttentionWorkerServer> servers) {
        return servers.stream().map(s -> s.peer("127.0.0.1")).toList();
    }

    Coordinator coordinator(List<Peer> attention, List<ExpertPeer> experts, long epoch, TransportOptions options) {
        Arena arena = Arena.ofShared();
        TensorSource coordinatorWeights = Checkpoint.open(modelDir);
        DistributedModel model = DistributedModel.connect(coordinatorWeights, config, new CpuBackend(), arena, attention,
                DispatchPlan.of(config, epoch, experts), options, ExpertFailover.REPLICAS, (lost, since) -> { }, ReplicaLoads.NONE);
        return new Coordinator(Engine.around(model.model(), () -> {
            model.close();
            arena.close();
            coordinatorWeights.close();
        }, LayerObserver.NONE), model);
    }

    /** An engine over a distributed model; closing it closes the connections and then the weights. */
    record Coordinator(Engine engine, DistributedModel model) implements AutoCloseable {
        @Override
        public void close() {
            engine.close();
        }
    }

    @Override
    public void close() throws Exception {
        for (AutoCloseable server : servers.reversed()) {
            server.close();
        }
        weights.close();
    }
}
