package dev.expertmesh.launcher.bench;

import dev.expertmesh.attention.CacheBlocks;
import dev.expertmesh.attentionworker.AttentionWorkerServer;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.coordinator.dispatch.DispatchPlan;
import dev.expertmesh.coordinator.dispatch.ExpertFailover;
import dev.expertmesh.coordinator.dispatch.ExpertPeer;
import dev.expertmesh.coordinator.dispatch.RemoteAttentionStage;
import dev.expertmesh.coordinator.dispatch.RemoteExpertStage;
import dev.expertmesh.engine.ComputeDevice;
import dev.expertmesh.engine.DeepseekModel;
import dev.expertmesh.expertworker.ExpertWorkerServer;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.placement.HostedExperts;
import dev.expertmesh.transport.Peer;
import dev.expertmesh.transport.TransportOptions;
import dev.expertmesh.quantization.QuantizationPlan;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;

/**
 * The local command's roles in this JVM on one device, without the control plane: two expert
 * workers with the routed experts striped over them, one attention worker, and a coordinator's
 * model connected to them over Flight on loopback with the given transport. A step is one
 * micro-batch, so that attention, experts and transport follow each other and their times add up.
 * The workers time their computing, the coordinator its waits on them; the difference is transport.
 */
public final class ClusterRig implements DecodeRig {
    private static final String HOST = "127.0.0.1";
    private static final int EXPERT_WORKERS = 2;
    private static final long EPOCH = 1;

    private final List<AutoCloseable> workers = new ArrayList<>();
    private final StageClock attentionWorker = new StageClock();
    private final List<StageClock> expertWorkers = new ArrayList<>();
    private final StageClock coordinator = new StageClock();
    private final Arena arena = Arena.ofShared();
    private RemoteAttentionStage attention;
    private RemoteExpertStage experts;
    private final DeepseekModel model;

    /** {@code transport}'s micro-batches are set to one. */
    public ClusterRig(ComputeDevice device, TensorSource weights, ModelConfig config, int cacheBlocks, TransportOptions transport,
                      QuantizationPlan plan) {
        try {
            List<ExpertPeer> expertPeers = new ArrayList<>();
            for (int w = 0; w < EXPERT_WORKERS; w++) {
                StageClock clock = new StageClock();
                expertWorkers.add(clock);
                HostedExperts hosted = HostedExperts.striped(config, w, EXPERT_WORKERS);
                ExpertWorkerServer server = ExpertWorkerServer.start("expert-" + w, HOST, 0, weights, config,
                        new TimedDevice(device, clock), plan, hosted, EPOCH);
                workers.add(server);
                expertPeers.add(new ExpertPeer(Peer.of(server.name(), HOST, server.port()), hosted));
            }
            AttentionWorkerServer attentionServer = AttentionWorkerServer.start("attention-0", HOST, 0, weights, config,
                    new TimedDevice(device, attentionWorker), plan, CacheBlocks.DEFAULT_BLOCK_TOKENS, cacheBlocks);
            workers.add(attentionServer);
            TransportOptions oneMicroBatch = transport.withMicroBatches(1);
            attention = new RemoteAttentionStage(config, List.of(Peer.of(attentionServer.name(), HOST, attentionServer.port())),
                    oneMicroBatch, (lost, since) -> { });
            experts = new RemoteExpertStage(config, DispatchPlan.of(config, EPOCH, expertPeers), oneMicroBatch, ExpertFailover.REPLICAS);
            model = DeepseekModel.load(weights, config, device.backend(), arena,
                    new TimedAttentionStage(attention, coordinator.attentionNanos()),
                    new TimedExpertStage(experts, coordinator.expertNanos()), 1);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    @Override
    public DeepseekModel model() {
        return model;
    }

    @Override
    public void resetClocks() {
        attentionWorker.reset();
        expertWorkers.forEach(StageClock::reset);
        coordinator.reset();
    }

    /**
     * Attention as its worker computed it, experts as the busier expert worker did (the coordinator
     * waits for the slower), and transport as the rest of the coordinator's waits on the workers.
     */
    @Override
    public TimeSplit split() {
        long attentionNanos = attentionWorker.attention();
        long expertNanos = expertWorkers.stream().mapToLong(StageClock::experts).max().orElse(0);
        long waited = coordinator.attention() + coordinator.experts();
        return new TimeSplit(attentionNanos, expertNanos, Math.max(0, waited - attentionNanos - expertNanos));
    }

    /** The coordinator's streams first, so that no worker waits out Flight's grace period for them. */
    @Override
    public void close() {
        if (attention != null) {
            attention.close();
        }
        if (experts != null) {
            experts.close();
        }
        for (AutoCloseable worker : workers.reversed()) {
            try {
                worker.close();
            } catch (Exception e) {
                throw new IllegalStateException("stopping " + worker, e);
            }
        }
        arena.close();
    }
}
