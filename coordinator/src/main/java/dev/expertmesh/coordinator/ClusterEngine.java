package dev.expertmesh.coordinator;

import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.coordinator.dispatch.DistributedModel;
import dev.expertmesh.coordinator.dispatch.ExpertPeer;
import dev.expertmesh.engine.DeepseekModel;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.membership.ClusterMember;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.proto.ClusterStatus;
import dev.expertmesh.proto.ExpertPlacement;
import dev.expertmesh.proto.NodeDescriptor;
import dev.expertmesh.proto.Role;
import dev.expertmesh.shardmap.ShardMap;
import dev.expertmesh.shardmap.ShardMapStore;
import dev.expertmesh.transport.HostedExperts;
import dev.expertmesh.transport.Peer;
import dev.expertmesh.transport.TransportOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The engine the coordinator serves with: the model's attention and experts on the workers the
 * cluster has now. It is rebuilt when the shard map's epoch or the set of attention workers
 * changes, and refused, with what is missing, until every expert worker of the map has loaded it.
 */
final class ClusterEngine implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ClusterEngine.class);
    private static final long RECHECK_NANOS = 1_000_000_000L;

    private final ClusterMember member;
    private final ShardMapStore shardMaps;
    private final TensorSource weights;
    private final ModelConfig config;
    private final Backend backend;
    private final TransportOptions transport;
    private final RoutingCounts routingCounts;
    private Built built;
    private long checkedAtNanos;

    /** An engine and what it was built for. */
    private record Built(Engine engine, long epoch, List<NodeDescriptor> attentionWorkers, int expertWorkers) {
    }

    ClusterEngine(ClusterMember member, ShardMapStore shardMaps, TensorSource weights, ModelConfig config, Backend backend,
                  TransportOptions transport, RoutingCounts routingCounts) {
        this.member = member;
        this.shardMaps = shardMaps;
        this.weights = weights;
        this.config = config;
        this.backend = backend;
        this.transport = transport;
        this.routingCounts = routingCounts;
    }

    /**
     * The model to run the next step on. Asked at every step, it looks at the cluster at most once
     * a second: a worker that leaves mid-step fails that step anyway, and the next look rebuilds.
     */
    synchronized DeepseekModel model() {
        long now = System.nanoTime();
        if (built == null || now - checkedAtNanos > RECHECK_NANOS) {
            engine();
            checkedAtNanos = now;
        }
        return built.engine().model();
    }

    /** The engine for the cluster as it is now; IllegalStateException says what the cluster still lacks. */
    synchronized Engine engine() {
        ShardMap map = shardMaps.current().orElseThrow(() -> new IllegalStateException(
                "the cluster is not ready: no expert worker has joined yet"));
        List<NodeDescriptor> members = member.members();
        List<NodeDescriptor> attentionWorkers = members.stream().filter(m -> m.getRole() == Role.ATTENTION_WORKER).toList();
        if (attentionWorkers.isEmpty()) {
            throw new IllegalStateException("the cluster is not ready: no attention worker has joined yet");
        }
        if (built != null && built.epoch() == map.epoch() && built.attentionWorkers().equals(attentionWorkers)) {
            return built.engine();
        }
        Map<String, NodeDescriptor> byId = members.stream().collect(Collectors.toMap(NodeDescriptor::getNodeId, Function.identity()));
        List<ExpertPeer> expertPeers = expertWorkersOf(map).stream().map(id -> {
            NodeDescriptor worker = byId.get(id);
            if (worker == null || worker.getLoadedEpoch() != map.epoch()) {
                throw new IllegalStateException("the cluster is not ready: expert worker " + id
                        + (worker == null ? " of the shard map has left" : " has not loaded shard map epoch " + map.epoch() + " yet"));
            }
            return new ExpertPeer(peer(worker), new HostedExperts(map.routedByLayer(id)));
        }).toList();
        if (built != null) {
            built.engine().close();
            built = null;
        }
        Arena arena = Arena.ofShared();
        DistributedModel model = DistributedModel.connect(weights, config, backend, arena,
                attentionWorkers.stream().map(ClusterEngine::peer).toList(), expertPeers, map.epoch(), transport);
        // The serving scheduler runs this model's steps and counts their routes; the engine counting
        // them too would count each token twice.
        Engine engine = Engine.around(model.model(), () -> {
            model.close();
            arena.close();
        }, LayerObserver.NONE);
        built = new Built(engine, map.epoch(), attentionWorkers, expertPeers.size());
        log.info("Serving shard map epoch {} with {} expert workers and {} attention workers", map.epoch(), expertPeers.size(),
                attentionWorkers.size());
        return engine;
    }

    /**
     * Expert workers the engine serves with, after bringing it up to date: read off the engine built,
     * not the shard map, which may have moved on to a newer epoch since.
     */
    synchronized int servingExpertWorkers() {
        engine();
        return built.expertWorkers();
    }

    private static List<String> expertWorkersOf(ShardMap map) {
        return map.layers().values().stream()
                .flatMap(layer -> layer.workersByExpert().stream())
                .flatMap(List::stream)
                .distinct().sorted().toList();
    }

    private static Peer peer(NodeDescriptor node) {
        return Peer.of(node.getRole().name().toLowerCase() + "@" + node.getHost() + ":" + node.getPort(), node.getHost(), node.getPort());
    }

    /** Members, the shard map and the tokens routed to each expert. */
    ClusterStatus status() {
        ClusterStatus.Builder status = ClusterStatus.newBuilder().addAllMembers(member.members());
        shardMaps.current().ifPresent(map -> {
            var proto = map.toProto().toBuilder();
            for (int i = 0; i < proto.getPlacementsCount(); i++) {
                ExpertPlacement p = proto.getPlacements(i);
                proto.setPlacements(i, p.toBuilder().setTokensRouted(routingCounts.tokens(p.getLayer(), p.getExpert())));
            }
            status.setShardMap(proto);
        });
        return status.build();
    }

    @Override
    public synchronized void close() {
        if (built != null) {
            built.engine().close();
            built = null;
        }
    }
}
