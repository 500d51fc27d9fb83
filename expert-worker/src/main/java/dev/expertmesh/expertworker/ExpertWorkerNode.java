package dev.expertmesh.expertworker;

import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.engine.ComputeDevice;
import dev.expertmesh.membership.ClusterMember;
import dev.expertmesh.membership.NodeOptions;
import dev.expertmesh.membership.Subscription;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.placement.EpochWindow;
import dev.expertmesh.placement.HostedExperts;
import dev.expertmesh.placement.ShardMap;
import dev.expertmesh.proto.NodeDescriptor;
import dev.expertmesh.proto.Role;
import dev.expertmesh.proto.WorkerState;
import dev.expertmesh.shardmap.ShardMapStore;
import dev.expertmesh.transport.TlsFiles;
import dev.expertmesh.quantization.QuantizationPlan;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The expert-worker role: a Flight server that joins the cluster, serves nothing until the
 * coordinator's shard map places experts on it, then loads exactly those (and the shared experts
 * and dense MLPs) and announces the epoch it has loaded. A new map is loaded beside the experts of
 * the one served, so batches of both are answered until the coordinator flips to the new one; only
 * then are the experts it no longer places here dropped.
 */
public final class ExpertWorkerNode implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ExpertWorkerNode.class);
    /** How long a stopping worker waits for the coordinator to stop routing to it. */
    static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(30);

    private final ExpertWorkerServer server;
    private final ClusterMember member;
    private final ShardMapStore shardMaps;
    /** Maps from the serving epoch on, by epoch; touched on the store's event thread, and read under this lock when draining. */
    private final SortedMap<Long, ShardMap> retained = new TreeMap<>();
    private long serving = ShardMap.UNPUBLISHED;
    private boolean draining;
    private Subscription maps;
    private Subscription flips;

    private ExpertWorkerNode(ExpertWorkerServer server, ClusterMember member, ShardMapStore shardMaps) {
        this.server = server;
        this.member = member;
        this.shardMaps = shardMaps;
    }

    /**
     * {@code weights} and {@code device} must outlive the node; every expert it loads is stored as
     * {@code plan} says. It announces the device, its memory for weights and the plan's formats.
     */
    public static ExpertWorkerNode start(NodeOptions options, TensorSource weights, ModelConfig config, ComputeDevice device,
                                         QuantizationPlan plan) {
        return start(options, weights, config, device, plan, Optional.empty());
    }

    /** As above; with {@code tls}, it serves Flight and its data plane over mutual TLS and says so in its descriptor. */
    public static ExpertWorkerNode start(NodeOptions options, TensorSource weights, ModelConfig config, ComputeDevice device,
                                         QuantizationPlan plan, Optional<TlsFiles> tls) {
        ExpertWorkerServer server = ExpertWorkerServer.start("expert-worker", options.host(), options.port(), options.dataPort(), weights, config,
                device, plan, new HostedExperts(Map.of()), ShardMap.UNPUBLISHED, tls);
        ClusterMember member = null;
        ShardMapStore shardMaps = null;
        try {
            member = ClusterMember.start(options.member(), NodeDescriptor.newBuilder()
                    .setRole(Role.EXPERT_WORKER).setHost(options.host()).setPort(server.port()).setDataPort(server.dataPort()).setTls(tls.isPresent())
                    .setDevice(device.name()).setWeightMemoryBytes(device.memoryForWeights())
                    .setExpertQuantization(plan.experts().label()).setAttentionAndDenseQuantization(plan.attentionAndDense().label())
                    .build());
            shardMaps = new ShardMapStore(member);
            ExpertWorkerNode node = new ExpertWorkerNode(server, member, shardMaps);
            server.health().set(member.nodeId(), WorkerState.LOADING, ShardMap.UNPUBLISHED);
            node.flips = shardMaps.subscribeServing(node::flipped);
            node.maps = shardMaps.subscribe(node::published);
            return node;
        } catch (RuntimeException e) {
            closeAll(server, member, shardMaps);
            throw e;
        }
    }

    /**
     * A new map: load what it places here beside what is served now, and say so. The two store
     * entries' events are not ordered, so the flip to this map may have come first.
     */
    private synchronized void published(ShardMap map) {
        if (map.epoch() < serving) {
            return;
        }
        retained.put(map.epoch(), map);
        retained.headMap(serving).clear();
        reassign();
        if (!draining) {
            // Serving the older maps' experts while this one loaded: a probe saw SERVING with their epoch. A map that
            // leaves this worker out (one published before it joined, or by a coordinator that cannot reach it) is no
            // reason to call it serving.
            server.health().set(nodeId(), map.workers().contains(nodeId()) ? WorkerState.SERVING : WorkerState.IDLE, map.epoch());
        }
        member.announceLoadedEpoch(map.epoch());
    }

    /** The coordinator serves with {@code epoch} now: drop the experts only older maps placed here. */
    private synchronized void flipped(long epoch) {
        serving = epoch;
        if (retained.isEmpty() || retained.lastKey() < epoch) {
            // A flip seen before its map (a worker that just joined): the map follows, and loads then.
            return;
        }
        retained.headMap(epoch).clear();
        reassign();
        notifyAll();
    }

    private void reassign() {
        HostedExperts union = HostedExperts.union(retained.values().stream()
                .map(map -> new HostedExperts(map.routedByLayer(member.nodeId()))).toList());
        long oldest = Math.max(serving, retained.firstKey());
        server.assign(union, new EpochWindow(oldest, retained.lastKey()));
    }

    public String nodeId() {
        return member.nodeId();
    }

    public int port() {
        return server.port();
    }

    public int dataPort() {
        return server.dataPort();
    }

    /**
     * Stops gracefully: announces that it drains, so the coordinator places its experts elsewhere, and
     * waits (at most {@link #DRAIN_TIMEOUT}) until the map the cluster serves with leaves it out; then
     * leaves the cluster and stops serving. Without a coordinator, or another expert worker to hand
     * over to, it stops at once.
     */
    @Override
    public void close() {
        synchronized (this) {
            // Under the lock published() takes, so that a map loading now cannot report SERVING after this.
            draining = true;
            server.health().set(nodeId(), WorkerState.DRAINING, server.health().current().getEpoch());
        }
        if (canHandOver()) {
            member.announceDraining();
            long start = System.nanoTime();
            if (awaitDrained(start + DRAIN_TIMEOUT.toNanos())) {
                log.info("Expert worker {} drained in {} ms", nodeId(), (System.nanoTime() - start) / 1_000_000);
            } else {
                log.warn("Expert worker {} stops after {} ms still in the served shard map: the coordinator left, or did not "
                        + "route around it within {} s", nodeId(), (System.nanoTime() - start) / 1_000_000, DRAIN_TIMEOUT.toSeconds());
            }
        }
        maps.close();
        flips.close();
        closeAll(server, member, shardMaps);
    }

    private boolean canHandOver() {
        List<NodeDescriptor> members = member.members();
        return members.stream().anyMatch(m -> m.getRole() == Role.COORDINATOR)
                && members.stream().anyMatch(m -> m.getRole() == Role.EXPERT_WORKER && !m.getDraining() && !m.getNodeId().equals(nodeId()));
    }

    /** Waits for the flip that leaves this worker out, giving up when nobody is left to make it. */
    private synchronized boolean awaitDrained(long deadlineNanos) {
        while (!drained()) {
            long left = deadlineNanos - System.nanoTime();
            if (left <= 0 || !canHandOver()) {
                return false;
            }
            try {
                wait(Math.max(1, Math.min(left / 1_000_000, 100)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /** The served map leaves this worker out: nothing is routed here any more. */
    private boolean drained() {
        ShardMap served = retained.get(serving);
        return served != null && !served.workers().contains(nodeId());
    }

    private static void closeAll(ExpertWorkerServer server, ClusterMember member, ShardMapStore shardMaps) {
        if (shardMaps != null) {
            shardMaps.close();
        }
        if (member != null) {
            member.close();
        }
        try {
            server.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
