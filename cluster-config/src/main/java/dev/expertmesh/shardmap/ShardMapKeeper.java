package dev.expertmesh.shardmap;

import dev.expertmesh.membership.ClusterMember;
import dev.expertmesh.membership.Subscription;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.placement.ExpertLoads;
import dev.expertmesh.placement.ExpertWorker;
import dev.expertmesh.placement.PlacementPolicy;
import dev.expertmesh.placement.ShardMap;
import dev.expertmesh.proto.NodeDescriptor;
import dev.expertmesh.proto.Role;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The coordinator's side of the shard map: places the experts again, under a new epoch, whenever the expert
 * workers it can use change: one joins, leaves, starts draining, or is fenced after a failed call. Workers are
 * taken in node id order so that every coordinator computes the same map.
 */
public final class ShardMapKeeper implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ShardMapKeeper.class);

    private final ClusterMember member;
    private final ShardMapStore store;
    private final ModelConfig config;
    private final PlacementPolicy policy;
    private final Supplier<ExpertLoads> loads;
    private final Subscription subscription;
    private final Set<String> fenced = new HashSet<>();
    private List<NodeDescriptor> members = List.of();
    private List<ExpertWorker> workers;

    private ShardMapKeeper(ClusterMember member, ShardMapStore store, ModelConfig config, PlacementPolicy policy, Supplier<ExpertLoads> loads) {
        this.member = member;
        this.store = store;
        this.config = config;
        this.policy = policy;
        this.loads = loads;
        this.subscription = member.subscribe(this::membersChanged);
    }

    /** Places with {@code policy}, on the loads {@code loads} gives at each placement. */
    public static ShardMapKeeper start(ClusterMember member, ShardMapStore store, ModelConfig config, PlacementPolicy policy,
                                       Supplier<ExpertLoads> loads) {
        return new ShardMapKeeper(member, store, config, policy, loads);
    }

    /**
     * Never places experts on {@code nodeId} again: a worker whose call failed may be dead, frozen or cut off,
     * and one that comes back is not to be trusted with the epoch it missed. Returns the map published for the
     * workers left, or the current one if it already leaves the node out.
     */
    public synchronized Optional<ShardMap> fence(String nodeId) {
        if (fenced.add(nodeId)) {
            log.info("expert worker {} fenced: it is left out of every shard map from now on", nodeId);
            replace();
        }
        return store.current();
    }

    private synchronized void membersChanged(List<NodeDescriptor> now) {
        members = now;
        replace();
    }

    /**
     * Places the experts again on the workers there are, with the loads as they are now, and
     * publishes the map if it differs from the current one. Returns the current map after it.
     */
    public synchronized Optional<ShardMap> rebalance() {
        if (workers != null && !workers.isEmpty()) {
            publishIfChanged(workers);
        }
        return store.current();
    }

    private void replace() {
        List<ExpertWorker> usable = members.stream()
                .filter(node -> node.getRole() == Role.EXPERT_WORKER && !node.getDraining() && !fenced.contains(node.getNodeId()))
                .filter(member::tlsAsHere)
                .sorted(Comparator.comparing(NodeDescriptor::getNodeId))
                .map(node -> new ExpertWorker(node.getNodeId(), node.getHost(), node.getWeightMemoryBytes()))
                .toList();
        if (usable.equals(workers)) {
            return;
        }
        workers = usable;
        if (usable.isEmpty()) {
            // A map without workers would route every token nowhere; the last map at least names the experts' homes.
            log.info("no expert workers: shard map left as it is");
            return;
        }
        publishIfChanged(usable);
    }

    private void publishIfChanged(List<ExpertWorker> usable) {
        ShardMap placement = policy.place(config, usable, loads.get());
        Optional<ShardMap> current = store.current();
        // A restarted coordinator finds the map it would compute already there; a new epoch would only make workers reload.
        if (current.isPresent() && current.get().layers().equals(placement.layers())) {
            return;
        }
        ShardMap published = store.publish(placement);
        log.info("shard map epoch {}: {} routed experts per layer over {} expert worker{}", published.epoch(),
                config.nRoutedExperts(), usable.size(), usable.size() == 1 ? "" : "s");
    }

    @Override
    public void close() {
        subscription.close();
    }
}
