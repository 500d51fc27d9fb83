package dev.expertmesh.shardmap;

import dev.expertmesh.membership.ClusterMember;
import dev.expertmesh.membership.Subscription;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.proto.NodeDescriptor;
import dev.expertmesh.proto.Role;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Optional;

/**
 * The coordinator's side of the shard map: places the experts again, under a new epoch, whenever the set of expert
 * workers changes. Workers are taken in node id order so that every coordinator computes the same map.
 */
public final class ShardMapKeeper implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ShardMapKeeper.class);

    private final ShardMapStore store;
    private final ModelConfig config;
    private final PlacementPolicy policy;
    private final Subscription subscription;
    // Touched only on the membership thread, which delivers one change at a time.
    private List<String> workers;

    private ShardMapKeeper(ClusterMember member, ShardMapStore store, ModelConfig config, PlacementPolicy policy) {
        this.store = store;
        this.config = config;
        this.policy = policy;
        this.subscription = member.subscribe(this::membersChanged);
    }

    public static ShardMapKeeper start(ClusterMember member, ShardMapStore store, ModelConfig config, PlacementPolicy policy) {
        return new ShardMapKeeper(member, store, config, policy);
    }

    private void membersChanged(List<NodeDescriptor> members) {
        List<String> now = members.stream()
                .filter(node -> node.getRole() == Role.EXPERT_WORKER)
                .map(NodeDescriptor::getNodeId)
                .sorted()
                .toList();
        if (now.equals(workers)) {
            return;
        }
        workers = now;
        if (now.isEmpty()) {
            // A map without workers would route every token nowhere; the last map at least names the experts' homes.
            log.info("no expert workers: shard map left as it is");
            return;
        }
        ShardMap placement = policy.place(config, now);
        Optional<ShardMap> current = store.current();
        // A restarted coordinator finds the map it would compute already there; a new epoch would only make workers reload.
        if (current.isPresent() && current.get().layers().equals(placement.layers())) {
            return;
        }
        ShardMap published = store.publish(placement);
        log.info("shard map epoch {}: {} routed experts per layer over {} expert worker{}",
                published.epoch(), config.nRoutedExperts(), now.size(), now.size() == 1 ? "" : "s");
    }

    @Override
    public void close() {
        subscription.close();
    }
}
