package dev.expertmesh.coordinator;

import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.coordinator.dispatch.DispatchPlan;
import dev.expertmesh.coordinator.dispatch.DistributedModel;
import dev.expertmesh.coordinator.dispatch.ExpertFailover;
import dev.expertmesh.coordinator.dispatch.ExpertPeer;
import dev.expertmesh.coordinator.dispatch.ReplicaLoads;
import dev.expertmesh.coordinator.metrics.ClusterChanges;
import dev.expertmesh.coordinator.serving.Readiness;
import dev.expertmesh.engine.DeepseekModel;
import dev.expertmesh.engine.ModelHost;
import dev.expertmesh.membership.ClusterMember;
import dev.expertmesh.membership.RoleName;
import dev.expertmesh.membership.Subscription;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.placement.HostedExperts;
import dev.expertmesh.placement.ShardMap;
import dev.expertmesh.proto.ClusterStatus;
import dev.expertmesh.proto.ExpertPlacement;
import dev.expertmesh.proto.NodeDescriptor;
import dev.expertmesh.proto.RebalanceResponse;
import dev.expertmesh.proto.Recovery;
import dev.expertmesh.proto.Role;
import dev.expertmesh.proto.WorkerState;
import dev.expertmesh.proto.WorkerStatus;
import dev.expertmesh.shardmap.ShardMapKeeper;
import dev.expertmesh.shardmap.ShardMapStore;
import dev.expertmesh.transport.Peer;
import dev.expertmesh.transport.PeerFailureException;
import dev.expertmesh.transport.TransportOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * What the coordinator serves with: one model whose attention and experts run on the workers the
 * cluster has, built once the cluster first has what a step needs, and never rebuilt. Changes take
 * effect between steps: a new shard map is flipped to once every worker it places experts on has
 * loaded it, and only then are the workers told, so they drop what the old map alone placed on
 * them; attention workers are added as they join. A worker that fails a call is fenced, never sent
 * anything again: an expert worker's share goes to its replicas, or to the survivors once they have
 * loaded its experts, and an attention worker's sequences are recomputed on the others.
 */
final class ClusterEngine implements ModelHost, ExpertFailover, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ClusterEngine.class);
    /**
     * How long a step waits for survivors to load the experts of a failed worker that had no replica:
     * well past Hazelcast's heartbeat timeout (10 s), since the map's publication waits on the dead
     * member when it owned that Hazelcast partition.
     */
    static final Duration RELOAD_TIMEOUT = Duration.ofSeconds(60);

    private final ClusterMember member;
    private final ShardMapStore shardMaps;
    private final ShardMapKeeper keeper;
    private final TensorSource weights;
    private final ModelConfig config;
    private final Backend backend;
    private final TransportOptions transport;
    private final RoutingCounts routingCounts;
    private final ReplicaLoads replicaLoads;
    private final ClusterChanges changes;
    private final Subscription membership;
    private final Subscription maps;
    /** Workers that failed a call or left, by node id, with their role: never used again. */
    private final Map<String, Role> fenced = new ConcurrentHashMap<>();
    private final Map<Peer, String> nodeOfPeer = new ConcurrentHashMap<>();
    /** Attention workers being connected to, in the background. */
    private final Set<Peer> adding = ConcurrentHashMap.newKeySet();
    /** The last reason the model could not be built, logged once rather than at every step. */
    private volatile String notBuilt;
    /** Failures routed around, whose recovery ends with the next step that completes. */
    private final List<Recovering> recovering = new ArrayList<>();
    private volatile List<NodeDescriptor> members = List.of();
    private final MixedFormats mixedFormats = new MixedFormats();
    private volatile ShardMap newest;
    private volatile DistributedModel model;
    private Arena arena;
    /** Steps between rebalances on the loads routed so far; 0: only when asked. */
    private final int rebalanceEverySteps;
    private long stepsCompleted;
    /** The epoch the workers were last told the cluster serves. */
    private long told = ShardMap.UNPUBLISHED;
    /** Off the scheduler's thread, in order: tells the workers of each flip, connects to new attention workers. */
    private final ExecutorService background = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("cluster-changes").daemon().factory());

    private record Recovering(Recovery.Builder recovery, long sinceNanos) {
    }

    ClusterEngine(ClusterMember member, ShardMapStore shardMaps, ShardMapKeeper keeper, TensorSource weights, ModelConfig config,
                  Backend backend, TransportOptions transport, RoutingCounts routingCounts, ReplicaLoads replicaLoads, ClusterChanges changes,
                  int rebalanceEverySteps) {
        this.rebalanceEverySteps = rebalanceEverySteps;
        this.member = member;
        this.shardMaps = shardMaps;
        this.keeper = keeper;
        this.weights = weights;
        this.config = config;
        this.backend = backend;
        this.transport = transport;
        this.routingCounts = routingCounts;
        this.replicaLoads = replicaLoads;
        this.changes = changes;
        this.membership = member.subscribe(this::membersChanged);
        this.maps = shardMaps.subscribe(this::published);
    }

    private synchronized void membersChanged(List<NodeDescriptor> now) {
        members = now;
        mixedFormats.check(now);
        notifyAll();
    }

    private synchronized void published(ShardMap map) {
        newest = map;
        notifyAll();
    }

    /** The model, built at the first call that finds the cluster able to run it (no step runs before). */
    @Override
    public DeepseekModel model() {
        DistributedModel built = model;
        if (built == null) {
            synchronized (this) {
                if (model == null) {
                    build(members, newest);
                }
                built = model;
            }
        }
        if (built == null) {
            throw new IllegalStateException(readiness().refusal());
        }
        return built.model();
    }

    /** At a step boundary: build the model once the cluster can run it, add attention workers, flip to a loaded map. */
    @Override
    public synchronized void beforeStep() {
        List<NodeDescriptor> now = members;
        ShardMap map = newest;
        if (model == null) {
            build(now, map);
            return;
        }
        addAttentionWorkers(now);
        loseDepartedAttentionWorkers(now);
        model.attention().disconnectLost();
        model.experts().disconnectUnplanned();
        long start = System.nanoTime();
        boolean flipped = map != null && map.epoch() > model.experts().plan().epoch() && plan(map, now).map(plan -> {
            model.experts().use(plan);
            changes.flipped();
            return true;
        }).orElse(false);
        long serving = model.experts().plan().epoch();
        if (serving > told) {
            // Workers only drop experts once told; telling them holds up no step.
            background.execute(() -> tell(serving));
            told = serving;
        }
        if (flipped) {
            log.info("Serving shard map epoch {} with {} expert workers (flipped between steps in {} ms)", serving,
                    model.experts().plan().workers().size(), String.format("%.1f", (System.nanoTime() - start) / 1e6));
        }
    }

    private void tell(long serving) {
        try {
            shardMaps.flip(serving);
        } catch (RuntimeException e) {
            // A coordinator shutting down; the next one tells the workers again when it serves.
            log.warn("Could not tell the workers that epoch {} is served: {}", serving, e.getMessage());
        }
    }

    @Override
    public synchronized void stepCompleted() {
        stepsCompleted++;
        if (rebalanceEverySteps > 0 && stepsCompleted % rebalanceEverySteps == 0) {
            background.execute(this::rebalance);
        }
        if (recovering.isEmpty()) {
            return;
        }
        long now = System.nanoTime();
        for (Recovering r : recovering) {
            Recovery recovery = r.recovery().setSeconds((now - r.sinceNanos()) / 1e9).build();
            changes.recovered(recovery);
            log.info("Recovered from the failure of {} {} ({}) in {} ms, to the first step completed after it",
                    RoleName.of(recovery.getRole()), recovery.getNodeId(), recovery.getAction(), Math.round(recovery.getSeconds() * 1000));
        }
        recovering.clear();
    }

    private void build(List<NodeDescriptor> now, ShardMap map) {
        List<Peer> attention = attentionPeers(now);
        Optional<DispatchPlan> plan = map == null ? Optional.empty() : plan(map, now);
        if (attention.isEmpty() || plan.isEmpty()) {
            return;
        }
        Arena built = Arena.ofShared();
        try {
            model = DistributedModel.connect(weights, config, backend, built, attention, plan.get(), transport, this, this::attentionLost, replicaLoads);
            arena = built;
        } catch (RuntimeException e) {
            built.close();
            String why = Objects.requireNonNullElse(e.getMessage(), e.toString());
            if (!why.equals(notBuilt)) {
                log.warn("Could not connect to the workers yet: {}", why);
                notBuilt = why;
            }
            return;
        }
        shardMaps.flip(plan.get().epoch());
        told = plan.get().epoch();
        log.info("Serving shard map epoch {} with {} expert workers and {} attention workers", plan.get().epoch(),
                plan.get().workers().size(), attention.size());
    }

    /** The plan of {@code map} once every worker it places experts on is live, unfenced and has loaded it. */
    private Optional<DispatchPlan> plan(ShardMap map, List<NodeDescriptor> now) {
        Map<String, NodeDescriptor> byId = now.stream().collect(Collectors.toMap(NodeDescriptor::getNodeId, Function.identity()));
        List<ExpertPeer> workers = new ArrayList<>();
        for (String id : map.workers()) {
            NodeDescriptor worker = byId.get(id);
            // A worker that has loaded a newer map holds this one's experts too: it answers every epoch from the served one on.
            if (worker == null || fenced.containsKey(id) || worker.getLoadedEpoch() < map.epoch()) {
                return Optional.empty();
            }
            workers.add(new ExpertPeer(id, peer(worker), new HostedExperts(map.routedByLayer(id))));
        }
        return Optional.of(DispatchPlan.of(config, map.epoch(), workers));
    }

    /**
     * Whether a step can run now and, if not, what the cluster lacks: a shard map that every expert
     * worker it places experts on has loaded (the one served, or a newer one flipped to at the next
     * step), and an attention worker. Read without the engine's lock, so that a probe never waits on a step.
     */
    Readiness readiness() {
        List<NodeDescriptor> now = members;
        ShardMap map = newest;
        DistributedModel built = model;
        if (map == null) {
            return Readiness.notReady("no expert worker has joined yet");
        }
        Set<String> live = now.stream().map(NodeDescriptor::getNodeId).filter(id -> !fenced.containsKey(id)).collect(Collectors.toSet());
        List<Peer> attention = built == null ? attentionPeers(now)
                : built.attention().peers().stream().filter(peer -> live.contains(nodeOfPeer.get(peer))).toList();
        if (attention.isEmpty()) {
            return Readiness.notReady(built == null ? "no attention worker has joined yet"
                    : attentionPeers(now).isEmpty() ? "no attention worker is left" : "connecting to the attention workers that joined");
        }
        Optional<DispatchPlan> experts = Optional.ofNullable(built).map(b -> b.experts().plan())
                .filter(plan -> runsEveryExpert(plan, live)).or(() -> plan(map, now));
        if (experts.isEmpty()) {
            return Readiness.notReady(map.workers().stream().filter(id -> !live.contains(id)).findFirst()
                    .map(id -> "expert worker " + id + " of shard map epoch " + map.epoch() + " has left or failed")
                    .orElse("the expert workers are loading shard map epoch " + map.epoch()));
        }
        if (built == null) {
            String failed = notBuilt;
            return Readiness.notReady(failed == null ? "connecting to the workers" : "could not connect to the workers yet: " + failed);
        }
        return Readiness.ready("shard map epoch " + experts.get().epoch() + " on " + count(experts.get().workers().size(), "expert worker")
                + " and " + count(attention.size(), "attention worker"));
    }

    /** Whether the plan's workers that are still live, unfenced members hold every routed expert between them. */
    private static boolean runsEveryExpert(DispatchPlan plan, Set<String> live) {
        Set<Peer> gone = plan.workers().stream().filter(w -> !live.contains(w.nodeId())).map(ExpertPeer::peer).collect(Collectors.toSet());
        DispatchPlan left = plan.without(gone);
        return !left.workers().isEmpty() && left.uncovered().isEmpty();
    }

    private static String count(int n, String what) {
        return n + " " + what + (n == 1 ? "" : "s");
    }

    private List<Peer> attentionPeers(List<NodeDescriptor> now) {
        return now.stream()
                .filter(node -> node.getRole() == Role.ATTENTION_WORKER && !fenced.containsKey(node.getNodeId()))
                .filter(member::tlsAsHere)
                .map(this::peer)
                .toList();
    }

    /** Connects to new attention workers in the background: one that cannot be reached holds up no step. */
    private void addAttentionWorkers(List<NodeDescriptor> now) {
        List<Peer> serving = model.attention().peers();
        for (Peer peer : attentionPeers(now)) {
            if (!serving.contains(peer) && adding.add(peer)) {
                DistributedModel built = model;
                background.execute(() -> {
                    try {
                        built.attention().add(peer);
                        log.info("Attention worker {} joined the serving cluster", peer);
                    } catch (PeerFailureException e) {
                        log.debug("Attention worker {} not reachable yet: {}", peer, e.getMessage());
                    } finally {
                        adding.remove(peer);
                    }
                });
            }
        }
    }

    /** An attention worker that left between steps took its caches with it, as one that failed a call does. */
    private void loseDepartedAttentionWorkers(List<NodeDescriptor> now) {
        Set<Peer> live = now.stream().map(this::peer).collect(Collectors.toSet());
        for (Peer peer : model.attention().peers()) {
            if (!live.contains(peer)) {
                model.attention().lose(peer, System.nanoTime());
            }
        }
    }

    /** Fences the expert workers that failed and gives the stage a plan without them. */
    @Override
    public synchronized DispatchPlan recover(DispatchPlan failed, Set<Peer> gone, PeerFailureException cause) {
        long start = cause.sinceNanos();
        gone.forEach(peer -> fence(peer, Role.EXPERT_WORKER, cause));
        DispatchPlan left = failed.without(gone);
        List<String> uncovered = left.uncovered();
        if (!left.workers().isEmpty() && uncovered.isEmpty()) {
            gone.forEach(peer -> recovering(peer, Role.EXPERT_WORKER, "replicas", start));
            return left;
        }
        log.warn("{} experts had no replica left (first: {}): waiting for the surviving expert workers to load them",
                uncovered.size(), uncovered.isEmpty() ? "all" : uncovered.getFirst());
        long deadline = System.nanoTime() + RELOAD_TIMEOUT.toNanos();
        while (true) {
            ShardMap map = newest;
            if (map != null && map.epoch() > failed.epoch() && map.workers().stream().noneMatch(fenced::containsKey)) {
                Optional<DispatchPlan> loaded = plan(map, members);
                if (loaded.isPresent()) {
                    log.info("Survivors loaded shard map epoch {} in {} ms", map.epoch(), (System.nanoTime() - start) / 1_000_000);
                    changes.flipped();
                    gone.forEach(peer -> recovering(peer, Role.EXPERT_WORKER, "reload", start));
                    return loaded.get();
                }
            }
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                throw PeerFailureException.unanswered(cause.peer(), "no surviving expert worker loaded its experts within "
                        + RELOAD_TIMEOUT.toSeconds() + " s", cause);
            }
            try {
                wait(Math.max(1, Math.min(remaining / 1_000_000, 50)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw cause;
            }
        }
    }

    private synchronized void attentionLost(Peer peer, long sinceNanos) {
        fence(peer, Role.ATTENTION_WORKER, null);
        recovering(peer, Role.ATTENTION_WORKER, "re-prefill", sinceNanos);
    }

    private void fence(Peer peer, Role role, PeerFailureException cause) {
        String nodeId = nodeOfPeer.getOrDefault(peer, peer.name());
        if (fenced.putIfAbsent(nodeId, role) != null) {
            return;
        }
        log.warn("{} failed{}: fenced, routing around it", peer, cause == null ? "" : " (" + cause.getMessage() + ")");
        if (role == Role.EXPERT_WORKER) {
            keeper.fence(nodeId);
        }
    }

    private void recovering(Peer peer, Role role, String action, long startNanos) {
        recovering.add(new Recovering(Recovery.newBuilder().setNodeId(nodeOfPeer.getOrDefault(peer, peer.name())).setRole(role)
                .setFailedAtMs(System.currentTimeMillis() - (System.nanoTime() - startNanos) / 1_000_000).setAction(action), startNanos));
    }

    /**
     * Places the experts again on the loads routed so far and publishes the map if it differs; it is
     * served once its workers have loaded it, through the same two-phase flip as any change.
     */
    RebalanceResponse rebalance() {
        long before = newest == null ? ShardMap.UNPUBLISHED : newest.epoch();
        long after = keeper.rebalance().map(ShardMap::epoch).orElse(ShardMap.UNPUBLISHED);
        if (after != before) {
            log.info("Rebalanced on the tokens routed so far: shard map epoch {} (was {})", after, before);
        }
        return RebalanceResponse.newBuilder().setPreviousEpoch(before).setEpoch(after).build();
    }

    /**
     * Expert workers the engine serves with: read off the plan in use, not the shard map, which
     * may have moved on to a newer epoch since.
     */
    int servingExpertWorkers() {
        DistributedModel built = model;
        return built == null ? 0 : built.experts().plan().workers().size();
    }

    /** A worker as logs and errors name it: its role and the start of its node id, then its address. */
    private Peer peer(NodeDescriptor node) {
        String name = RoleName.of(node.getRole()) + " " + node.getNodeId().substring(0, Math.min(8, node.getNodeId().length()));
        Peer peer = Peer.of(name, node.getHost(), node.getPort(), node.getDataPort(), node.getTls());
        nodeOfPeer.putIfAbsent(peer, node.getNodeId());
        return peer;
    }


    /** Members and their states, the newest shard map with the tokens routed to each expert, flips and recoveries. */
    ClusterStatus status() {
        List<NodeDescriptor> now = members;
        ClusterStatus.Builder status = ClusterStatus.newBuilder().addAllMembers(now)
                .setEpochFlips(changes.flips()).addAllRecoveries(changes.recoveries());
        DistributedModel built = model;
        status.setServingEpoch(built == null ? ShardMap.UNPUBLISHED : built.experts().plan().epoch());
        workerStates(now).forEach((id, state) -> status.addWorkers(state));
        ShardMap map = newest;
        if (map != null) {
            var proto = map.toProto().toBuilder();
            for (int i = 0; i < proto.getPlacementsCount(); i++) {
                ExpertPlacement p = proto.getPlacements(i);
                proto.setPlacements(i, p.toBuilder().setTokensRouted(routingCounts.tokens(p.getLayer(), p.getExpert())));
            }
            status.setShardMap(proto);
        }
        return status.build();
    }

    /** Each worker, member or fenced, by node id: what the coordinator does with it now. */
    Map<String, WorkerStatus> workerStates(List<NodeDescriptor> now) {
        DistributedModel built = model;
        Set<String> planned = built == null ? Set.of() : built.experts().plan().workers().stream()
                .map(w -> nodeOfPeer.get(w.peer())).collect(Collectors.toSet());
        Set<String> attending = built == null ? Set.of() : built.attention().peers().stream()
                .map(nodeOfPeer::get).collect(Collectors.toSet());
        ShardMap map = newest;
        Map<String, WorkerStatus> states = new LinkedHashMap<>();
        for (NodeDescriptor node : now) {
            String id = node.getNodeId();
            WorkerState state = switch (node.getRole()) {
                case EXPERT_WORKER -> fenced.containsKey(id) ? WorkerState.GONE
                        : node.getDraining() ? WorkerState.DRAINING
                        : planned.contains(id) ? WorkerState.SERVING
                        : map != null && map.workers().contains(id) ? WorkerState.LOADING
                        : WorkerState.IDLE;
                case ATTENTION_WORKER -> fenced.containsKey(id) ? WorkerState.GONE
                        : attending.contains(id) ? WorkerState.SERVING : WorkerState.LOADING;
                default -> null;
            };
            if (state != null) {
                states.put(id, WorkerStatus.newBuilder().setNodeId(id).setRole(node.getRole()).setState(state).build());
            }
        }
        fenced.forEach((id, role) -> states.putIfAbsent(id,
                WorkerStatus.newBuilder().setNodeId(id).setRole(role).setState(WorkerState.GONE).build()));
        return states;
    }

    List<WorkerStatus> workers() {
        return List.copyOf(workerStates(members).values());
    }

    @Override
    public synchronized void close() {
        membership.close();
        maps.close();
        background.shutdown();
        if (model != null) {
            model.close();
            arena.close();
            model = null;
        }
    }
}
