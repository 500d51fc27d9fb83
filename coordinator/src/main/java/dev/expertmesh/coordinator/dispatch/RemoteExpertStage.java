package dev.expertmesh.coordinator.dispatch;

import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertRoutes;
import dev.expertmesh.moe.ExpertStage;
import dev.expertmesh.proto.ExpertBatch;
import dev.expertmesh.transport.DataPlaneSchemas;
import dev.expertmesh.transport.ExchangeStream;
import dev.expertmesh.transport.ExpertSlots;
import dev.expertmesh.transport.HiddenRows;
import dev.expertmesh.transport.Peer;
import dev.expertmesh.transport.PeerFailureException;
import dev.expertmesh.transport.TransportOptions;
import org.apache.arrow.vector.FixedSizeBinaryVector;
import org.apache.arrow.vector.VectorSchemaRoot;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.stream.IntStream;

/**
 * The expert stage on expert workers. Each token goes once to each worker hosting one of its
 * experts, with only those experts' ids and weights; a routed expert with several replicas sends
 * the token to one already carrying it, else to the one with the fewest rows so far (ties taken in
 * turn, by step, layer and token, so that even single tokens spread over the replicas); the shared
 * expert rides with the token's first routed expert, so it costs no extra message, and a dense
 * layer's tokens are spread over the workers, starting from another one at each call (so that
 * single tokens take the workers in turn). Every worker gets at most one message per layer,
 * all sent at once, and the coordinator adds up their per-token partial sums. Each micro-batch has
 * its own stream to every worker, so micro-batches are in flight together.
 *
 * <p>The plan is swapped whole between layer calls ({@link #use}). When workers do not answer a
 * call, what they were sent is sent again, on the plan the failover gives without them, until
 * every row is answered; a worker that answers with an error fails the call as it is, since its
 * replicas would refuse the same message.
 */
public final class RemoteExpertStage implements ExpertStage, AutoCloseable {
    private final ModelConfig config;
    private final PeerConnections connections;
    private final TransportOptions options;
    private final ExpertFailover failover;
    private final ReplicaLoads loads;
    /** streams.get(microBatch): one per worker, opened at its first message. */
    private final List<Map<Peer, ExchangeStream>> streams;
    /** Steps each micro-batch has been in, for the workers' logs. */
    private final long[] steps;
    /** Workers that did not answer a call: no plan adopted here has them again. */
    private final Set<Peer> gone = ConcurrentHashMap.newKeySet();
    private volatile DispatchPlan plan;

    public RemoteExpertStage(ModelConfig config, DispatchPlan plan, TransportOptions options, ExpertFailover failover) {
        this(config, plan, options, failover, ReplicaLoads.NONE);
    }

    /** {@code loads} hears what each replica answered. */
    public RemoteExpertStage(ModelConfig config, DispatchPlan plan, TransportOptions options, ExpertFailover failover, ReplicaLoads loads) {
        this.config = config;
        this.loads = loads;
        this.plan = plan;
        this.options = options;
        this.failover = failover;
        this.connections = new PeerConnections(options.replyTimeout(), options.tls());
        this.streams = IntStream.range(0, options.microBatches()).mapToObj(m -> (Map<Peer, ExchangeStream>) new ConcurrentHashMap<Peer, ExchangeStream>()).toList();
        this.steps = new long[options.microBatches()];
    }

    public DispatchPlan plan() {
        return plan;
    }

    /** Dispatches by {@code next} from the next layer call on; called between steps. */
    public void use(DispatchPlan next) {
        plan = next;
        disconnectUnplanned();
    }

    /**
     * Closes, in the background, the streams to workers the plan no longer has (routed around or
     * left out), so that none of them keeps a connection nobody will use.
     * Called between steps, when no call is in flight.
     */
    public void disconnectUnplanned() {
        Set<Peer> planned = new HashSet<>();
        plan.workers().forEach(w -> planned.add(w.peer()));
        Set<Peer> connected = new HashSet<>();
        streams.forEach(byPeer -> connected.addAll(byPeer.keySet()));
        for (Peer peer : connected) {
            if (!planned.contains(peer)) {
                streams.forEach(byPeer -> byPeer.remove(peer));
                connections.senders().execute(() -> connections.disconnect(peer));
            }
        }
    }

    @Override
    public float[] forward(int layer, int microBatch, float[] x, ExpertRoutes routes) {
        if (layer == 0) {
            steps[microBatch]++;
        }
        float[] out = new float[x.length];
        DispatchPlan current = plan;
        ExpertRoutes pending = routes;
        boolean sentAgain = false;
        while (true) {
            Shares shares = split(current, layer, pending, steps[microBatch] + layer);
            Failures failures = send(current, shares, layer, microBatch, x, out);
            countAnswered(current, layer, pending, shares, failures == null ? Set.of() : failures.workers());
            if (failures == null) {
                return out;
            }
            pending = shares.routesOf(failures.workers(), pending);
            if (failures.workers().size() == shares.targets() && !sentAgain) {
                // Every worker failing at once is more likely this side stalling (a pause, a starved
                // machine) than all of them dying: send once more before fencing every one of them.
                sentAgain = true;
                continue;
            }
            current = recover(failures.peers(), failures.first());
        }
    }

    /** The workers of a plan that failed their calls, and the first failure. */
    private record Failures(Set<Integer> workers, Set<Peer> peers, PeerFailureException first) {
    }

    /** Sends every worker its share at once and adds the answers into {@code out}; null when all answered. */
    private Failures send(DispatchPlan plan, Shares shares, int layer, int microBatch, float[] x, float[] out) {
        List<Integer> targets = IntStream.range(0, shares.rows.length).filter(w -> shares.rows[w] > 0).boxed().toList();
        List<Peer> peers = targets.stream().map(w -> plan.workers().get(w).peer()).toList();
        List<Supplier<float[]>> calls = targets.stream()
                .<Supplier<float[]>>map(w -> () -> exchange(plan.workers().get(w).peer(), layer, microBatch, plan.epoch(), x, shares, w))
                .toList();
        ConcurrentReplies.Settled<float[]> settled = ConcurrentReplies.settle(connections.senders(), options.replyTimeout(), peers, calls);
        Set<Integer> failed = new HashSet<>();
        Set<Peer> gone = new HashSet<>();
        PeerFailureException first = null;
        for (int i = 0; i < targets.size(); i++) {
            if (settled.failed(i) && settled.failures().get(i).refused()) {
                throw settled.failures().get(i);
            }
            if (settled.failed(i)) {
                failed.add(targets.get(i));
                gone.add(peers.get(i));
                first = first == null ? settled.failures().get(i) : first;
            } else {
                addPartial(out, settled.replies().get(i), shares, targets.get(i));
            }
        }
        return failed.isEmpty() ? null : new Failures(failed, gone, first);
    }

    /** Tells {@link #loads} what each worker that answered ran of a MoE layer's routed experts. */
    private void countAnswered(DispatchPlan plan, int layer, ExpertRoutes routes, Shares shares, Set<Integer> failed) {
        if (!plan.isMoeLayer(layer)) {
            return;
        }
        int[][] load = shares.routedLoad(routes, config.nRoutedExperts());
        for (int w = 0; w < load.length; w++) {
            if (shares.rows[w] > 0 && !failed.contains(w)) {
                loads.answered(layer, plan.workers().get(w).nodeId(), load[w]);
            }
        }
    }

    /**
     * A plan without any worker that failed so far, adopted for every later call: the current one
     * if another micro-batch's recovery already made it so, else the failover's from it.
     */
    private synchronized DispatchPlan recover(Set<Peer> failed, PeerFailureException cause) {
        gone.addAll(failed);
        DispatchPlan now = plan;
        if (now.workers().stream().noneMatch(w -> gone.contains(w.peer())) && now.uncovered().isEmpty()) {
            return now;
        }
        plan = failover.recover(now, Set.copyOf(gone), cause);
        return plan;
    }

    private void addPartial(float[] out, float[] partial, Shares shares, int worker) {
        int dim = config.hiddenSize();
        for (int r = 0; r < shares.rows[worker]; r++) {
            int to = shares.tokens[worker][r] * dim;
            for (int c = 0; c < dim; c++) {
                out[to + c] += partial[r * dim + c];
            }
        }
    }

    private float[] exchange(Peer peer, int layer, int microBatch, long epoch, float[] x, Shares shares, int worker) {
        ExchangeStream stream = streams.get(microBatch).computeIfAbsent(peer,
                p -> connections.stream(p, DataPlaneSchemas.EXPERT_STREAM, DataPlaneSchemas.expertRequest(config, options.hiddenType())));
        int rows = shares.rows[worker];
        int dim = config.hiddenSize();
        VectorSchemaRoot request = stream.request();
        HiddenRows.write((FixedSizeBinaryVector) request.getVector(HiddenRows.FIELD), x, Arrays.copyOf(shares.tokens[worker], rows), dim);
        ExpertSlots.write((FixedSizeBinaryVector) request.getVector(ExpertSlots.IDS), (FixedSizeBinaryVector) request.getVector(ExpertSlots.WEIGHTS),
                shares.ids[worker], shares.weights[worker], rows);
        request.setRowCount(rows);
        ExpertBatch batch = ExpertBatch.newBuilder().setStep(steps[microBatch]).setLayer(layer).setMicroBatch(microBatch)
                .setEpoch(epoch).setHiddenType(options.hiddenType()).build();
        VectorSchemaRoot reply = stream.exchange(batch, "expert batch of layer " + layer);
        if (reply.getRowCount() != rows) {
            throw PeerFailureException.refused(stream.peer(), "answered " + reply.getRowCount() + " rows for " + rows + " in layer " + layer, null);
        }
        return HiddenRows.read((FixedSizeBinaryVector) reply.getVector(HiddenRows.FIELD), dim);
    }

    /**
     * Each worker's rows: the tokens they are, and their experts there as [row, slots] ids and
     * weights padded with -1; and the worker each route slot went to.
     */
    record Shares(int[] rows, int[][] tokens, int[][] ids, float[][] weights, int[] workerOfSlot) {

        /** Workers sent a share. */
        int targets() {
            return (int) IntStream.of(rows).filter(r -> r > 0).count();
        }

        /** {@code routes} with only the slots sent to {@code workers} left, the others emptied. */
        ExpertRoutes routesOf(Set<Integer> workers, ExpertRoutes routes) {
            int[] ids = routes.expertIds().clone();
            for (int slot = 0; slot < ids.length; slot++) {
                if (ids[slot] >= 0 && !workers.contains(workerOfSlot[slot])) {
                    ids[slot] = -1;
                }
            }
            return new ExpertRoutes(routes.tokens(), routes.k(), ids, routes.weights());
        }

        /** [worker][expert]: the slots of {@code routes} each worker was given for each routed expert (the shared one left out). */
        int[][] routedLoad(ExpertRoutes routes, int routedExperts) {
            int[][] load = new int[rows.length][routedExperts];
            for (int slot = 0; slot < workerOfSlot.length; slot++) {
                int id = routes.expertIds()[slot];
                if (workerOfSlot[slot] >= 0 && id < routedExperts) {
                    load[workerOfSlot[slot]][id]++;
                }
            }
            return load;
        }
    }

    /** {@code turn} rotates which replica wins a tie, and which worker a dense layer's first token goes to, call after call. */
    Shares split(DispatchPlan plan, int layer, ExpertRoutes routes, long turn) {
        int workers = plan.workers().size();
        int tokens = routes.tokens();
        int k = routes.k();
        int slots = DataPlaneSchemas.expertSlots(config);
        int[] rows = new int[workers];
        int[][] tokenRows = new int[workers][tokens];
        int[][] rowOf = new int[workers][tokens];
        int[][] filled = new int[workers][tokens];
        int[][] ids = new int[workers][tokens * slots];
        float[][] weights = new float[workers][tokens * slots];
        int[] workerOfSlot = new int[tokens * k];
        Arrays.fill(workerOfSlot, -1);
        for (int w = 0; w < workers; w++) {
            Arrays.fill(rowOf[w], -1);
            Arrays.fill(ids[w], -1);
        }
        for (int t = 0; t < tokens; t++) {
            int companion = -1;
            for (int j = 0; j < k; j++) {
                int slot = t * k + j;
                int id = routes.expertIds()[slot];
                if (id < 0) {
                    continue;
                }
                boolean routed = plan.isMoeLayer(layer) && id < config.nRoutedExperts();
                int w = routed ? replicaFor(plan.replicas(layer, id), rowOf, rows, t, turn)
                        : companion >= 0 ? companion : (int) ((t + turn) % workers);
                if (routed && companion < 0) {
                    companion = w;
                }
                if (rowOf[w][t] < 0) {
                    rowOf[w][t] = rows[w];
                    tokenRows[w][rows[w]++] = t;
                }
                int row = rowOf[w][t];
                int at = row * slots + filled[w][row]++;
                ids[w][at] = id;
                weights[w][at] = routes.weights()[slot];
                workerOfSlot[slot] = w;
            }
        }
        return new Shares(rows, tokenRows, ids, weights, workerOfSlot);
    }

    /** A replica already carrying token t costs no extra row; otherwise the one with the fewest rows so far. */
    private static int replicaFor(int[] replicas, int[][] rowOf, int[] rows, int t, long turn) {
        if (replicas.length == 0) {
            throw new IllegalStateException("the dispatch plan has no worker for an expert a token is routed to");
        }
        int first = (int) ((turn + t) % replicas.length);
        int best = replicas[first];
        for (int i = 0; i < replicas.length; i++) {
            int w = replicas[(first + i) % replicas.length];
            if (rowOf[w][t] >= 0) {
                return w;
            }
            if (rows[w] < rows[best]) {
                best = w;
            }
        }
        return best;
    }

    @Override
    public void close() {
        connections.close();
    }
}
