package dev.expertmesh.coordinator.dispatch;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.expertmesh.attention.AttentionStage;
import dev.expertmesh.attention.CacheBlocks;
import dev.expertmesh.attention.CacheUsage;
import dev.expertmesh.attention.SequenceChunk;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.proto.AttentionBatch;
import dev.expertmesh.proto.AttentionCapacity;
import dev.expertmesh.proto.AttentionExchange;
import dev.expertmesh.proto.ReleaseSequences;
import dev.expertmesh.transport.DataPlaneActions;
import dev.expertmesh.transport.DataPlaneSchemas;
import dev.expertmesh.transport.ExchangeStream;
import dev.expertmesh.transport.HiddenRows;
import dev.expertmesh.transport.Peer;
import dev.expertmesh.transport.PeerFailureException;
import dev.expertmesh.transport.TransportOptions;
import org.apache.arrow.flight.Action;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.Result;
import org.apache.arrow.vector.FixedSizeBinaryVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * The attention stage on attention workers. A sequence stays on the worker it was first given
 * (its latent cache lives there): the one with the most free cache blocks when it starts. This
 * coordinator keeps each worker's block ledger, learnt from the worker when the stage connects. Each
 * worker gets one message per layer with its sequences' rows; workers return the attention output
 * and the residual is added here, so the residual stream keeps fp32 whatever the transport. Each
 * micro-batch has its own stream to every worker, so micro-batches are in flight together.
 */
public final class RemoteAttentionStage implements AttentionStage, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RemoteAttentionStage.class);

    private final ModelConfig config;
    private final List<Peer> peers;
    /** streams[microBatch][worker]. */
    private final List<List<ExchangeStream>> streams;
    private final PeerConnections connections;
    private final TransportOptions options;
    private final Map<Long, Integer> workerOfSequence = new ConcurrentHashMap<>();
    /** ledgers[worker]. */
    private final List<CacheBlocks> ledgers;
    /** Steps each micro-batch has been in, for the workers' logs. */
    private final long[] steps;

    public RemoteAttentionStage(ModelConfig config, List<Peer> workers, TransportOptions options) {
        if (workers.isEmpty()) {
            throw new IllegalArgumentException("the attention stage needs at least one attention worker");
        }
        this.config = config;
        this.peers = List.copyOf(workers);
        this.options = options;
        this.connections = new PeerConnections(options.replyTimeout());
        FlightDescriptor descriptor = FlightDescriptor.command(AttentionExchange.getDefaultInstance().toByteArray());
        this.streams = IntStream.range(0, options.microBatches())
                .mapToObj(m -> peers.stream()
                        .map(p -> connections.stream(p, descriptor, DataPlaneSchemas.hidden(config.hiddenSize(), options.hiddenType())))
                        .toList())
                .toList();
        this.steps = new long[options.microBatches()];
        this.ledgers = peers.stream().map(peer -> {
            AttentionCapacity capacity = capacity(peer);
            return new CacheBlocks(config.numHiddenLayers(), capacity.getBlockTokens(), capacity.getTotalBlocks(),
                    capacity.getTotalBlocks() - capacity.getFreeBlocks());
        }).toList();
    }

    @Override
    public synchronized boolean reserve(long sequenceId, int tokens) {
        Integer worker = workerOfSequence.get(sequenceId);
        if (worker != null) {
            return ledgers.get(worker).reserve(sequenceId, tokens);
        }
        int roomiest = 0;
        for (int w = 1; w < ledgers.size(); w++) {
            if (ledgers.get(w).reserved().freeBlocks() > ledgers.get(roomiest).reserved().freeBlocks()) {
                roomiest = w;
            }
        }
        if (!ledgers.get(roomiest).reserve(sequenceId, tokens)) {
            return false;
        }
        workerOfSequence.put(sequenceId, roomiest);
        log.debug("Sequence {} goes to {}", sequenceId, peers.get(roomiest));
        return true;
    }

    @Override
    public CacheUsage cacheUsage() {
        return ledgers.stream().map(CacheBlocks::reserved).reduce(CacheUsage::plus).orElseThrow();
    }

    @Override
    public float[] forward(int layer, int microBatch, List<SequenceChunk> chunks, float[] hidden) {
        if (layer == 0) {
            steps[microBatch]++;
        }
        assignNewSequences(chunks);
        int dim = config.hiddenSize();
        List<List<SequenceChunk>> chunksOf = new ArrayList<>();
        List<List<Integer>> rowsOf = new ArrayList<>();
        for (int w = 0; w < peers.size(); w++) {
            chunksOf.add(new ArrayList<>());
            rowsOf.add(new ArrayList<>());
        }
        int row = 0;
        for (SequenceChunk chunk : chunks) {
            int w = workerOfSequence.get(chunk.sequenceId());
            chunksOf.get(w).add(chunk);
            for (int t = 0; t < chunk.length(); t++) {
                rowsOf.get(w).add(row++);
            }
        }
        List<Peer> targets = new ArrayList<>();
        List<Supplier<float[]>> calls = new ArrayList<>();
        List<int[]> targetRows = new ArrayList<>();
        for (int w = 0; w < peers.size(); w++) {
            if (chunksOf.get(w).isEmpty()) {
                continue;
            }
            int worker = w;
            int[] rows = rowsOf.get(w).stream().mapToInt(Integer::intValue).toArray();
            List<SequenceChunk> workerChunks = chunksOf.get(w);
            targets.add(peers.get(w));
            targetRows.add(rows);
            calls.add(() -> exchange(worker, layer, microBatch, workerChunks, hidden, rows));
        }
        List<float[]> outputs = ConcurrentReplies.await(connections.senders(), options.replyTimeout(), targets, calls);
        float[] out = hidden.clone();
        for (int i = 0; i < outputs.size(); i++) {
            int[] rows = targetRows.get(i);
            float[] attended = outputs.get(i);
            for (int r = 0; r < rows.length; r++) {
                for (int c = 0; c < dim; c++) {
                    out[rows[r] * dim + c] += attended[r * dim + c];
                }
            }
        }
        return out;
    }

    private float[] exchange(int worker, int layer, int microBatch, List<SequenceChunk> chunks, float[] hidden, int[] rows) {
        ExchangeStream stream = streams.get(microBatch).get(worker);
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
            throw new PeerFailureException(stream.peer(), "answered " + reply.getRowCount() + " rows for " + rows.length + " in layer " + layer, null);
        }
        return HiddenRows.read((FixedSizeBinaryVector) reply.getVector(HiddenRows.FIELD), dim);
    }

    /**
     * Gives each sequence seen for the first time and not reserved for (scored, not scheduled) to
     * the worker with the most free blocks, counting the blocks of sequences given out in this same
     * step, which the workers do not know of yet. Micro-batches assign one at a time, so none counts
     * blocks another is handing out.
     */
    private synchronized void assignNewSequences(List<SequenceChunk> chunks) {
        List<SequenceChunk> fresh = chunks.stream().filter(c -> !workerOfSequence.containsKey(c.sequenceId())).toList();
        if (fresh.isEmpty()) {
            return;
        }
        List<AttentionCapacity> capacities = peers.stream().map(this::capacity).toList();
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
            workerOfSequence.put(chunk.sequenceId(), best);
            log.debug("Sequence {} goes to {}", chunk.sequenceId(), peers.get(best));
        }
    }

    /** The worker's latent cache pool as it reports it. */
    public AttentionCapacity capacity(Peer peer) {
        List<Result> results = connections.doAction(peer, new Action(DataPlaneActions.CAPACITY));
        if (results.size() != 1) {
            throw new PeerFailureException(peer, "answered the capacity action with " + results.size() + " results", null);
        }
        try {
            return AttentionCapacity.parseFrom(results.getFirst().getBody());
        } catch (InvalidProtocolBufferException e) {
            throw new PeerFailureException(peer, "answered the capacity action with no AttentionCapacity", e);
        }
    }

    public List<Peer> peers() {
        return peers;
    }

    @Override
    public void release(long sequenceId) {
        Integer worker = workerOfSequence.remove(sequenceId);
        if (worker == null) {
            return;
        }
        ledgers.get(worker).release(sequenceId);
        connections.doAction(peers.get(worker), new Action(DataPlaneActions.RELEASE,
                ReleaseSequences.newBuilder().addSequenceIds(sequenceId).build().toByteArray()));
    }

    /**
     * Frees the caches of the sequences still held (the model is being replaced: they will be
     * recomputed on the new one), one message per worker, then disconnects.
     */
    @Override
    public void close() {
        Map<Integer, List<Long>> held = workerOfSequence.entrySet().stream()
                .collect(Collectors.groupingBy(Map.Entry::getValue, Collectors.mapping(Map.Entry::getKey, Collectors.toList())));
        held.forEach((worker, sequenceIds) -> {
            try {
                connections.doAction(peers.get(worker), new Action(DataPlaneActions.RELEASE,
                        ReleaseSequences.newBuilder().addAllSequenceIds(sequenceIds).build().toByteArray()));
            } catch (RuntimeException e) {
                log.debug("Could not free {} sequences on {} on closing", sequenceIds.size(), peers.get(worker), e);
            }
        });
        workerOfSequence.clear();
        connections.close();
    }
}
