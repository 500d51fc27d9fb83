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
import dev.expertmesh.transport.TransportOptions;
import dev.expertmesh.quantization.QuantizationPlan;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ForkJoinPool;

/**
 * The local command's roles in this JVM on one device, without the control plane: two expert
 * workers with the routed experts striped over them, one attention worker, and a coordinator's
 * model connected to them over Flight on loopback with the given transport, its micro-batches
 * included. Workers and coordinator log their stage calls in one log: the workers their computing,
 * the coordinator its waits on them, and each wait beyond the computing it waited on is wire. Each
 * worker computes on its own fork-join pool, the coordinator on the common one.
 */
public final class ClusterRig implements DecodeRig {
    private static final String HOST = "127.0.0.1";
    private static final int EXPERT_WORKERS = 2;
    private static final long EPOCH = 1;
    private static final Track ATTENTION_WORKER = new Track(Track.Role.ATTENTION_WORKER, 0);

    private final List<AutoCloseable> workers = new ArrayList<>();
    private final CallLog log = new CallLog();
    private final CallTimer coordinatorTimer = new CallTimer(log, Track::microBatch, Optional.empty());
    private final List<ForkJoinPool> pools = new ArrayList<>();
    private final Arena arena = Arena.ofShared();
    private RemoteAttentionStage attention;
    private RemoteExpertStage experts;
    private final DeepseekModel model;

    public ClusterRig(ComputeDevice device, TensorSource weights, ModelConfig config, int cacheBlocks, TransportOptions transport,
                      QuantizationPlan plan) {
        try {
            List<ExpertPeer> expertPeers = new ArrayList<>();
            for (int w = 0; w < EXPERT_WORKERS; w++) {
                Track track = new Track(Track.Role.EXPERT_WORKER, w);
                HostedExperts hosted = HostedExperts.striped(config, w, EXPERT_WORKERS);
                ExpertWorkerServer server = ExpertWorkerServer.start("expert-" + w, HOST, weights, config,
                        new TimedDevice(device, workerTimer(track)), plan, hosted, EPOCH);
                workers.add(server);
                expertPeers.add(new ExpertPeer(server.peer(HOST), hosted));
            }
            AttentionWorkerServer attentionServer = AttentionWorkerServer.start("attention-0", HOST, weights, config,
                    new TimedDevice(device, workerTimer(ATTENTION_WORKER)), plan, CacheBlocks.DEFAULT_BLOCK_TOKENS, cacheBlocks);
            workers.add(attentionServer);
            attention = new RemoteAttentionStage(config, List.of(attentionServer.peer(HOST)),
                    transport, (lost, since) -> { });
            experts = new RemoteExpertStage(config, DispatchPlan.of(config, EPOCH, expertPeers), transport, ExpertFailover.REPLICAS);
            model = DeepseekModel.load(weights, config, device.backend(), arena,
                    new TimedAttentionStage(attention, coordinatorTimer), new TimedExpertStage(experts, coordinatorTimer),
                    transport.microBatches());
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * A worker's timer, computing on a fork-join pool of its own as a worker process would: on the
     * common pool, every worker's and the coordinator's parallel products would share its one
     * thread on 2 cores.
     */
    private CallTimer workerTimer(Track track) {
        ForkJoinPool pool = new ForkJoinPool(Runtime.getRuntime().availableProcessors());
        pools.add(pool);
        return new CallTimer(log, _ -> track, Optional.of(pool));
    }

    @Override
    public DeepseekModel model() {
        return model;
    }

    @Override
    public String deployment() {
        return "local cluster";
    }

    @Override
    public CallLog log() {
        return log;
    }

    @Override
    public List<TimeSplit.CallShare> shares(List<StageCall> calls) {
        return TimeSplit.remote(calls, EXPERT_WORKERS);
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
        pools.forEach(ForkJoinPool::close);
        arena.close();
    }
}
