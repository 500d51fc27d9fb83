package dev.expertmesh.membership;

import com.google.protobuf.InvalidProtocolBufferException;
import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.core.EntryEvent;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.map.listener.EntryAddedListener;
import com.hazelcast.map.listener.EntryRemovedListener;
import com.hazelcast.map.listener.EntryUpdatedListener;
import dev.expertmesh.proto.NodeDescriptor;
import dev.expertmesh.proto.Role;
import dev.expertmesh.proto.Signed;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

/**
 * This node's embedded Hazelcast member and its published {@link NodeDescriptor}. The node id is the Hazelcast
 * member UUID, so a restarted process is a new node and can never be mistaken for the one it replaces. With a
 * {@link ClusterSecret}, descriptors are signed, and those not signed with it are ignored: such a node is
 * never seen by anything that reads the members.
 */
public final class ClusterMember implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ClusterMember.class);
    static final String DESCRIPTORS = "expertmesh.nodes";

    private final HazelcastInstance hazelcast;
    private final IMap<String, byte[]> descriptors;
    private final ClusterSecret secret;
    private final Set<String> warnedUnsigned = ConcurrentHashMap.newKeySet();
    private final Set<String> warnedTls = ConcurrentHashMap.newKeySet();
    private volatile NodeDescriptor self;
    private final List<Consumer<List<NodeDescriptor>>> listeners = new CopyOnWriteArrayList<>();
    // Listeners may do slow work (a keeper publishing a map); Hazelcast's event threads must not wait on them,
    // and one thread keeps them seeing changes in order.
    private final ExecutorService events = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("membership-events").daemon().factory());
    private final UUID membershipRegistration;
    private final UUID descriptorRegistration;
    private volatile boolean closed;

    private ClusterMember(HazelcastInstance hazelcast, NodeDescriptor descriptor, ClusterSecret secret) {
        this.hazelcast = hazelcast;
        this.descriptors = hazelcast.getMap(DESCRIPTORS);
        this.secret = secret;
        this.self = descriptor.toBuilder().setNodeId(nodeIdOf(hazelcast.getCluster().getLocalMember())).build();
        this.membershipRegistration = hazelcast.getCluster().addMembershipListener(new Departures());
        this.descriptorRegistration = descriptors.addEntryListener(new DescriptorChanges(), true);
        descriptors.set(self.getNodeId(), secret.sign(self.getNodeId(), self.toByteArray()));
    }

    /** Starts a member and publishes {@code descriptor} with its node id filled in. */
    public static ClusterMember start(MemberSettings settings, NodeDescriptor descriptor) {
        HazelcastInstance hazelcast = Hazelcast.newHazelcastInstance(hazelcastConfig(settings));
        try {
            return new ClusterMember(hazelcast, descriptor, settings.secret());
        } catch (RuntimeException e) {
            hazelcast.shutdown();
            throw e;
        }
    }

    static Config hazelcastConfig(MemberSettings settings) {
        var config = new Config();
        config.setClusterName(settings.clusterName());
        config.setProperty("hazelcast.logging.type", "slf4j");
        config.setProperty("hazelcast.phone.home.enabled", "false");
        // The node closes its member itself, after what depends on it: Hazelcast's own hook would shut
        // it down first, in parallel with the node's, and the node's would find it gone.
        config.setProperty("hazelcast.shutdownhook.enabled", "false");
        config.setProperty("hazelcast.heartbeat.interval.seconds", Integer.toString(settings.heartbeatIntervalSeconds()));
        config.setProperty("hazelcast.max.no.heartbeat.seconds", Integer.toString(settings.maxNoHeartbeatSeconds()));
        // Without this Hazelcast listens on every interface, whatever the interface list says.
        config.setProperty("hazelcast.socket.bind.any", "false");
        NetworkConfig network = config.getNetworkConfig();
        network.setPort(settings.port()).setPortAutoIncrement(true);
        network.getInterfaces().setEnabled(true).addInterface(settings.bindHost());
        JoinConfig join = network.getJoin();
        join.getMulticastConfig().setEnabled(false);
        join.getAutoDetectionConfig().setEnabled(false);
        join.getTcpIpConfig().setEnabled(true).setMembers(settings.members());
        return config;
    }

    public String nodeId() {
        return self.getNodeId();
    }

    public NodeDescriptor descriptor() {
        return self;
    }

    /** Tells the cluster that this expert worker has loaded the experts of shard-map epoch {@code epoch}. */
    public void announceLoadedEpoch(long epoch) {
        publish(self -> self.setLoadedEpoch(epoch));
    }

    /** Tells the cluster that this expert worker is stopping: the next shard map leaves it out. */
    public void announceDraining() {
        publish(self -> self.setDraining(true));
    }

    /** One change at a time, each made to the descriptor the last one left, so that none undoes another. */
    private synchronized void publish(UnaryOperator<NodeDescriptor.Builder> change) {
        self = change.apply(self.toBuilder()).build();
        descriptors.set(self.getNodeId(), secret.sign(self.getNodeId(), self.toByteArray()));
    }

    /** For the shard map store, which lives in the same cluster. */
    public HazelcastInstance hazelcast() {
        return hazelcast;
    }

    /** What signs this member's entries, for the shard map store beside it. */
    public ClusterSecret secret() {
        return secret;
    }

    /**
     * Descriptors of the live members, ordered by node id; a member that has not yet published, or whose
     * descriptor is not signed with this cluster's secret, is left out.
     */
    public List<NodeDescriptor> members() {
        Set<String> live = hazelcast.getCluster().getMembers().stream()
                .map(ClusterMember::nodeIdOf)
                .collect(Collectors.toSet());
        return descriptors.getAll(live).entrySet().stream()
                .flatMap(entry -> admitted(entry.getKey(), entry.getValue()).stream())
                .sorted(Comparator.comparing(NodeDescriptor::getNodeId))
                .toList();
    }

    /** The descriptor stored under {@code nodeId}, if it is signed with this cluster's secret for that node id. */
    private Optional<NodeDescriptor> admitted(String nodeId, byte[] stored) {
        Optional<NodeDescriptor> node = secret.verify(nodeId, stored).flatMap(ClusterMember::parse)
                .filter(descriptor -> descriptor.getNodeId().equals(nodeId));
        if (node.isEmpty() && warnedUnsigned.add(nodeId)) {
            log.warn("ignoring node {} at {}: its descriptor is not signed with this cluster's secret", nodeId, claimedHost(stored));
        }
        return node;
    }

    /**
     * Whether {@code node} serves TLS as this node does, or plain text as it does: a node with TLS never talks to one
     * without, nor the other way round, so such a node is not worked with (and is warned of once).
     */
    public boolean tlsAsHere(NodeDescriptor node) {
        if (node.getTls() == self.getTls()) {
            return true;
        }
        if (warnedTls.add(node.getNodeId())) {
            log.warn("leaving out node {} at {}:{}: it serves {} and this node {}: give every node tls-cert, tls-key and tls-ca, or none",
                    node.getNodeId(), node.getHost(), node.getPort(), node.getTls() ? "TLS" : "plain text", self.getTls() ? "TLS" : "plain text");
        }
        return false;
    }

    /** Where an unadmitted descriptor says its node is, for the warning: nothing in it can be trusted. */
    private static String claimedHost(byte[] stored) {
        try {
            NodeDescriptor claimed = NodeDescriptor.parseFrom(Signed.parseFrom(stored).getBody());
            return claimed.getHost() + ":" + claimed.getPort();
        } catch (InvalidProtocolBufferException e) {
            return "an unknown address";
        }
    }

    /**
     * Calls {@code listener} with the live descriptors now and after every join or departure, one call at a time
     * on a thread of this member's. A call may repeat the previous list.
     */
    public Subscription subscribe(Consumer<List<NodeDescriptor>> listener) {
        listeners.add(listener);
        post(() -> deliver(List.of(listener)));
        return () -> listeners.remove(listener);
    }

    private void changed() {
        post(() -> deliver(listeners));
    }

    private void deliver(List<Consumer<List<NodeDescriptor>>> targets) {
        List<NodeDescriptor> members = members();
        for (var listener : targets) {
            try {
                listener.accept(members);
            } catch (RuntimeException e) {
                log.warn("membership listener failed: {}", e.toString(), e);
            }
        }
    }

    private void post(Runnable task) {
        try {
            events.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    // Hazelcast refuses calls once this member is shutting down; only a live member's failure matters.
                    if (!closed && hazelcast.getLifecycleService().isRunning()) {
                        log.warn("membership event failed: {}", e.toString(), e);
                    }
                }
            });
        } catch (RejectedExecutionException e) {
            // An event that raced close(): nobody listens any more.
        }
    }

    /** Leaves the cluster; the descriptor goes first so that others stop routing here at once. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        listeners.clear();
        hazelcast.getCluster().removeMembershipListener(membershipRegistration);
        descriptors.removeEntryListener(descriptorRegistration);
        events.shutdownNow();
        try {
            events.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        descriptors.delete(self.getNodeId());
        hazelcast.shutdown();
    }

    private static String nodeIdOf(Member member) {
        return member.getUuid().toString();
    }

    /** A descriptor that does not parse is no node's: one bad entry must not hide the others. */
    private static Optional<NodeDescriptor> parse(byte[] bytes) {
        try {
            return Optional.of(NodeDescriptor.parseFrom(bytes));
        } catch (InvalidProtocolBufferException e) {
            log.warn("ignoring a corrupt node descriptor in {}: {}", DESCRIPTORS, e.getMessage());
            return Optional.empty();
        }
    }

    private static String describe(NodeDescriptor node) {
        return node.getRole() + " " + node.getNodeId() + " at " + node.getHost() + ":" + node.getPort()
                + " (" + node.getDevice() + ", " + (node.getWeightMemoryBytes() >> 20) + " MiB for weights)";
    }

    /** Joins and departures are the coordinator's to tell; other members, all in one `local` JVM maybe, keep them at debug. */
    private void report(String event, String node) {
        if (self.getRole() == Role.COORDINATOR) {
            log.info("{}: {}", event, node);
        } else {
            log.debug("{}: {}", event, node);
        }
    }

    /** A killed member cannot withdraw its own descriptor, so every survivor does; deleting twice is harmless. */
    private final class Departures implements MembershipListener {
        @Override
        public void memberAdded(MembershipEvent event) {
            // The newcomer's descriptor arrives as a map entry; that is what listeners wait for.
        }

        @Override
        public void memberRemoved(MembershipEvent event) {
            String nodeId = nodeIdOf(event.getMember());
            report("node left", nodeId);
            post(() -> descriptors.delete(nodeId));
            changed();
        }
    }

    private final class DescriptorChanges implements EntryAddedListener<String, byte[]>,
            EntryUpdatedListener<String, byte[]>, EntryRemovedListener<String, byte[]> {
        @Override
        public void entryAdded(EntryEvent<String, byte[]> event) {
            admitted(event.getKey(), event.getValue()).ifPresent(node -> report("node joined", describe(node)));
            changed();
        }

        @Override
        public void entryUpdated(EntryEvent<String, byte[]> event) {
            changed();
        }

        @Override
        public void entryRemoved(EntryEvent<String, byte[]> event) {
            changed();
        }
    }
}
