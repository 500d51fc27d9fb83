package dev.expertmesh.coordinator.dispatch;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.expertmesh.attention.AttentionStage;
import dev.expertmesh.attention.CacheBlocks;
import dev.expertmesh.attention.CacheUsage;
import dev.expertmesh.attention.SequenceChunk;
import dev.expertmesh.attention.SequencesLostException;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.proto.AttentionBatch;
import dev.expertmesh.proto.AttentionCapacity;
import dev.expertmesh.proto.ReleaseSequences;
import dev.expertmesh.transport.DataPlaneActions;
import dev.expertmesh.transport.DataPlaneSchemas;
import dev.expertmesh.transport.ExchangeStream;
import dev.expertmesh.transport.HiddenRows;
import dev.expertmesh.transport.Peer;
import dev.expertmesh.transport.PeerFailureException;
import dev.expertmesh.transport.TransportOptions;
import org.apache.arrow.flight.Action;
import org.apache.arrow.flight.Result;
import org.apache.arrow.vector.FixedSizeBinaryVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.ObjLongConsumer;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * The attention stage on attention workers. A sequence stays on the worker it was first given
 * (its latent cache lives there): the one with the most free cache blocks when it starts. This
 * coordinator keeps each worker's block ledger, learnt from the worker when it is added. Each
 * worker gets one message per layer with its sequences' rows; workers return the attention output
 * and the residual is added here, so the residual stream keeps fp32 whatever the transport. Each
 * micro-batch has its own stream to every worker, so micro-batches are in flight together.
 *
 * <p>Workers come and go between steps. A worker that does not answer a call is lost with its
 * caches: its sequences are reported lost, to be recomputed from their tokens on the workers left,
 * and it is never sent anything again. One that answers with an error fails the step as it is.
 */
public final class RemoteAttentionStage implements AttentionStage, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RemoteAttentionStage.class);

    private final ModelConfig config;
    private final PeerConnections connections;
    private final TransportOptions options;
    private final ObjLongConsumer<Peer> onLost;
    private final List<Worker> workers = new CopyOnWriteArrayList<>();
    private final Map<Long, Worker> workerOfSequence = new ConcurrentHashMap<>();
    /** Sequences whose cache went with a lost worker, until the scheduler frees them to recompute them. */
    private final Set<Long> lost = ConcurrentHashMap.newKeySet();
    /** streams.get(microBatch): one per worker, opened at its first message. */
    private final List<Map<Peer, ExchangeStream>> streams;
    /** Steps each micro-batch has been in, for the workers' logs. */
    private final long[] steps;

    /** A worker and the blocks this coordinator has set aside on it. */
    private record Worker(Peer peer, CacheBlocks ledger) {
    }

    /**
     * Connects to {@code workers}; {@code onLost} hears of each worker lost, with when the call it
     * did not answer began (System.nanoTime).
     */
    public RemoteAttentionStage(ModelConfig config, List<Peer> workers, TransportOptions options, ObjLongConsumer<Peer> onLost) {
        if (workers.isEmpty()) {
            throw new IllegalArgumentException("the attention stage needs at least one attention worker");
        }
        this.config = config;
        this.options = options;
        this.onLost = onLost;
        this.connections = new PeerConnections(options.replyTimeout(), options.tls());
        this.streams = IntStream.range(0, options.microBatches()).mapToObj(m -> (Map<Peer, ExchangeStream>) new ConcurrentHashMap<Peer, ExchangeStream>()).toList();
        this.steps = new long[options.microBatches()];
        workers.forEach(this::add);
    }

    /** Gives new sequences to {@code peer} too, from the next step on; asking its capacity holds up no step. */
    public void add(Peer peer) {
        AttentionCapacity capacity = capacity(peer);
        synchronized (this) {
            workers.add(new Worker(peer, new CacheBlocks(config.numHiddenLayers(), capacity.getBlockTokens(), capacity.getTotalBlocks(),
                    capacity.getTotalBlocks() - capacity.getFreeBlocks())));
        }
        log.debug("Attention worker {} added with {} of {} blocks free", peer, capacity.getFreeBlocks(), capacity.getTotalBlocks());
    }

    public List<Peer> peers() {
        return workers.stream().map(Worker::peer).toList();
    }

    /**
     * Stops using {@code peer}: the sequences it held are lost (the next step that has one of them
     * reports them) and nothing is sent to it again. Its streams are closed at the next step
     * boundary ({@link #disconnectLost}), as another micro-batch may still be waiting on one.
     */
    public void lose(Peer peer, long sinceNanos) {
        int held;
        synchronized (this) {
            Worker worker = workers.stream().filter(w -> w.peer().equals(peer)).findFirst().orElse(null);
            if (worker == null) {
                return;
            }
            workers.remove(worker);
            List<Long> sequences = workerOfSequence.entrySet().stream().filter(e -> e.getValue() == worker).map(Map.Entry::getKey).toList();
            sequences.forEach(workerOfSequence::remove);
            lost.addAll(sequences);
            held = sequences.size();
        }
        log.warn("Attention worker {} lost with the caches of {} sequences", peer, held);
        onLost.accept(peer, sinceNanos);
    }

    /** Closes, in the background, the streams to workers lost; called between steps, when no call is in flight. */
    public void disconnectLost() {
        Set<Peer> live = new HashSet<>(peers());
        Set<Peer> connected = new HashSet<>();
        streams.forEach(byPeer -> connected.addAll(byPeer.keySet()));
        for (Peer peer : connected) {
            if (!live.contains(peer)) {
                streams.forEach(byPeer -> byPeer.remove(peer));
                connections.senders().execute(() -> connections.disconnect(peer));
            }
        }
    }

    @Override
    public synchronized boolean reserve(long sequenceId, int tokens) {
        if (lost.contains(sequenceId)) {
            // Its step reports it lost and it is recomputed: nothing to set aside for a cache that is gone.
            return true;
        }
        Worker worker = workerOfSequence.get(sequenceId);
        if (worker != null) {
            return worker.ledger().reserve(sequenceId, tokens);
        }
        Worker roomiest = workers.stream().max((a, b) -> Long.compare(a.ledger().reserved().freeBlocks(), b.ledger().reserved().freeBlocks()))
                .orElseThrow(() -> new IllegalStateException("no attention worker is left to hold the cache of a sequence"));
        if (!roomiest.ledger().reserve(sequenceId, tokens)) {
            return false;
        }
        workerOfSequence.put(sequenceId, roomiest);
        log.debug("Sequence {} goes to {}", sequenceId, roomiest.peer());
        return true;
    }

    @Override
    public CacheUsage cacheUsage() {
        return workers.stream().map(w -> w.ledger().reserved()).reduce(CacheUsage::plus).orElse(new CacheUsage(1, 0, 0));
    }

    @Override
    public float[] forward(int layer, int microBatch, List<SequenceChunk> chunks, float[] hidden) {
        if (layer == 0) {
            steps[microBatch]++;
        }
        List<Worker> workerOfChunk = route(chunks);
        int dim = config.hiddenSize();
        Map<Worker, List<SequenceChunk>> chunksOf = new LinkedHashMap<>();
        Map<Worker, List<Integer>> rowsOf = new LinkedHashMap<>();
        int row = 0;
        for (int c = 0; c < chunks.size(); c++) {
            SequenceChunk chunk = chunks.get(c);
            Worker w = workerOfChunk.get(c);
            chunksOf.computeIfAbsent(w, _ -> new ArrayList<>()).add(chunk);
            List<Integer> rows = rowsOf.computeIfAbsent(w, _ -> new ArrayList<>());
            for (int t = 0; t < chunk.length(); t++) {
                rows.add(row++);
            }
        }
        List<Worker> targets = new ArrayList<>(chunksOf.keySet());
        List<int[]> targetRows = targets.stream().map(w -> rowsOf.get(w).stream().mapToInt(Integer::intValue).toArray()).toList();
        List<Supplier<float[]>> calls = IntStream.range(0, targets.size())
                .<Supplier<float[]>>mapToObj(i -> () -> exchange(targets.get(i).peer(), layer, microBatch, chunksOf.get(targets.get(i)), hidden, targetRows.get(i)))
                .toList();
        ConcurrentReplies.Settled<float[]> settled = ConcurrentReplies.settle(connections.senders(), options.replyTimeout(),
                targets.stream().map(Worker::peer).toList(), calls);
        Set<String> failures = new HashSet<>();
        for (int i = 0; i < targets.size(); i++) {
            if (settled.failed(i) && settled.failures().get(i).refused()) {
                throw settled.failures().get(i);
            }
        }
        for (int i = 0; i < targets.size(); i++) {
            if (settled.failed(i)) {
                lose(targets.get(i).peer(), settled.failures().get(i).sinceNanos());
                failures.add(settled.failures().get(i).getMessage());
            }
        }
        if (!failures.isEmpty()) {
            throw new SequencesLostException(lost, String.join("; ", failures));
        }
        float[] out = hidden.clone();
        for (int i = 0; i < targets.size(); i++) {
            int[] rows = targetRows.get(i);
            float[] attended = settled.replies().get(i);
            for (int r = 0; r < rows.length; r++) {
                for (int c = 0; c < dim; c++) {
                    out[rows[r] * dim + c] += attended[r * dim + c];
                }
            }
        }
        return out;
    }

    private float[] exchange(Peer peer, int layer, int microBatch, List<SequenceChunk> chunks, float[] hidden, int[] rows) {
        ExchangeStream stream = streams.get(microBatch).computeIfAbsent(peer,
                p -> connections.stream(p, DataPlaneSchemas.ATTENTION_STREAM, DataPlaneSchemas.hidden(config.hiddenSize(), options.hiddenType())));
        int dim = config.hiddenSize();
        VectorSchemaRoot request = stream.request();
        HiddenRows.write((FixedSizeBinaryVector) request.getVector(HiddenRows.FIELD), hidden, rows, dim);
        request.setRowCount(rows.length);
        AttentionBatch.Builder batch = AttentionBatch.newBuilder()
                .setStep(steps[microBatch]).setLayer(layer).setMicroBatch(microBatch).setHiddenType(options.hiddenType());
        for (SequenceChunk c : chunks) {
            batch.addChunks(dev.expertmesh.proto.SequenceChunk.newBuilder()
                    .setSequenceId(c.sequenceId()).setStart(c.start()).setLength(c.length()));
        }
        VectorSchemaRoot reply = stream.exchange(batch.build(), "attention batch of layer " + layer);
        if (reply.getRowCount() != rows.length) {
            throw PeerFailureException.refused(stream.peer(), "answered " + reply.getRowCount() + " rows for " + rows.length + " in layer " + layer, null);
        }
        return HiddenRows.read((FixedSizeBinaryVector) reply.getVector(HiddenRows.FIELD), dim);
    }

    /**
     * The worker of each chunk, read together with the lost sequences under the lock that losing a
     * worker takes, so a micro-batch never sends a lost sequence to another worker as if it were new.
     */
    private synchronized List<Worker> route(List<SequenceChunk> chunks) {
        if (chunks.stream().anyMatch(c -> lost.contains(c.sequenceId()))) {
            throw new SequencesLostException(lost, "their attention worker was lost");
        }
        assignNewSequences(chunks);
        return chunks.stream().map(c -> workerOfSequence.get(c.sequenceId())).toList();
    }

    /**
     * Gives each sequence seen for the first time and not reserved for (scored, not scheduled) to
     * the worker with the most free blocks, counting the blocks of sequences given out in this same
     * step, which the workers do not know of yet. Micro-batches assign one at a time, so none counts
     * blocks another is handing out.
     */
    private void assignNewSequences(List<SequenceChunk> chunks) {
        List<SequenceChunk> fresh = chunks.stream().filter(c -> !workerOfSequence.containsKey(c.sequenceId())).toList();
        if (fresh.isEmpty()) {
            return;
        }
        if (workers.isEmpty()) {
            throw new IllegalStateException("no attention worker is left to hold the cache of a sequence");
        }
        List<AttentionCapacity> capacities = workers.stream().map(w -> capacity(w.peer())).toList();
        long[] free = capacities.stream().mapToLong(AttentionCapacity::getFreeBlocks).toArray();
        for (SequenceChunk chunk : fresh) {
            int best = 0;
            for (int w = 1; w < free.length; w++) {
                if (free[w] > free[best]) {
                    best = w;
                }
            }
            int blockTokens = capacities.get(best).getBlockTokens();
            free[best] -= (chunk.end() + blockTokens - 1) / blockTokens;
            workerOfSequence.put(chunk.sequenceId(), workers.get(best));
            log.debug("Sequence {} goes to {}", chunk.sequenceId(), workers.get(best).peer());
        }
    }

    /** The worker's latent cache pool as it reports it. */
    public AttentionCapacity capacity(Peer peer) {
        List<Result> results = connections.doAction(peer, new Action(DataPlaneActions.CAPACITY));
        if (results.size() != 1) {
            throw PeerFailureException.refused(peer, "answered the capacity action with " + results.size() + " results", null);
        }
        try {
            return AttentionCapacity.parseFrom(results.getFirst().getBody());
        } catch (InvalidProtocolBufferException e) {
            throw PeerFailureException.refused(peer, "answered the capacity action with no AttentionCapacity", e);
        }
    }

    /**
     * Frees the sequence's cache. A worker that does not answer is lost at once, so that the
     * releases after it do not each wait out the reply deadline on it.
     */
    @Override
    public void release(long sequenceId) {
        lost.remove(sequenceId);
        Worker worker = workerOfSequence.remove(sequenceId);
        if (worker == null) {
            return;
        }
        worker.ledger().release(sequenceId);
        try {
            connections.doAction(worker.peer(), new Action(DataPlaneActions.RELEASE,
                    ReleaseSequences.newBuilder().addSequenceIds(sequenceId).build().toByteArray()));
        } catch (PeerFailureException e) {
            log.debug("Could not free sequence {} on {}: {}", sequenceId, worker.peer(), e.getMessage());
            if (!e.refused()) {
                lose(worker.peer(), e.sinceNanos());
            }
        }
    }

    /** Frees the caches of the sequences still held, one message per worker, then disconnects. */
    @Override
    public void close() {
        Map<Worker, List<Long>> held = workerOfSequence.entrySet().stream()
                .collect(Collectors.groupingBy(Map.Entry::getValue, Collectors.mapping(Map.Entry::getKey, Collectors.toList())));
        held.forEach((worker, sequenceIds) -> {
            try {
                connections.doAction(worker.peer(), new Action(DataPlaneActions.RELEASE,
                        ReleaseSequences.newBuilder().addAllSequenceIds(sequenceIds).build().toByteArray()));
            } catch (RuntimeException e) {
                log.debug("Could not free {} sequences on {} on closing", sequenceIds.size(), worker.peer(), e);
            }
        });
        workerOfSequence.clear();
        connections.close();
    }
}
