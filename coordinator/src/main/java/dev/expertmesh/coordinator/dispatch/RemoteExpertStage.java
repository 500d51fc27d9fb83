package dev.expertmesh.coordinator.dispatch;

import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertRoutes;
import dev.expertmesh.moe.ExpertStage;
import dev.expertmesh.proto.ExpertBatch;
import dev.expertmesh.proto.ExpertExchange;
import dev.expertmesh.transport.DataPlaneSchemas;
import dev.expertmesh.transport.ExchangeStream;
import dev.expertmesh.transport.ExpertSlots;
import dev.expertmesh.transport.HiddenRows;
import dev.expertmesh.transport.Peer;
import dev.expertmesh.transport.PeerFailureException;
import dev.expertmesh.transport.TransportOptions;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.vector.FixedSizeBinaryVector;
import org.apache.arrow.vector.VectorSchemaRoot;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.IntStream;

/**
 * The expert stage on expert workers. Each token goes once to each worker hosting one of its
 * experts, with only those experts' ids and weights; the shared expert rides with the token's
 * first routed expert, so it costs no extra message, and a dense layer's tokens are spread over
 * the workers. Every worker gets at most one message per layer, all sent at once, and the
 * coordinator adds up their per-token partial sums. Each micro-batch has its own stream to every
 * worker, so micro-batches are in flight together.
 */
public final class RemoteExpertStage implements ExpertStage, AutoCloseable {
    private final ModelConfig config;
    private final List<Peer> peers;
    /** streams[microBatch][worker]. */
    private final List<List<ExchangeStream>> streams;
    private final PeerConnections connections;
    /** owners[layer][expert]: index of the hosting worker, for the routed experts of MoE layers. */
    private final int[][] owners;
    private final long epoch;
    private final TransportOptions options;
    /** Steps each micro-batch has been in, for the workers' logs. */
    private final long[] steps;

    public RemoteExpertStage(ModelConfig config, List<ExpertPeer> workers, long epoch, TransportOptions options) {
        if (workers.isEmpty()) {
            throw new IllegalArgumentException("the expert stage needs at least one expert worker");
        }
        this.config = config;
        this.epoch = epoch;
        this.options = options;
        this.owners = owners(config, workers);
        this.peers = workers.stream().map(ExpertPeer::peer).toList();
        this.connections = new PeerConnections(options.replyTimeout());
        FlightDescriptor descriptor = FlightDescriptor.command(ExpertExchange.newBuilder().setEpoch(epoch).build().toByteArray());
        this.streams = IntStream.range(0, options.microBatches())
                .mapToObj(m -> peers.stream()
                        .map(p -> connections.stream(p, descriptor, DataPlaneSchemas.expertRequest(config, options.hiddenType())))
                        .toList())
                .toList();
        this.steps = new long[options.microBatches()];
    }

    private static int[][] owners(ModelConfig config, List<ExpertPeer> workers) {
        int[][] owners = new int[config.numHiddenLayers()][];
        for (int layer = 0; layer < owners.length; layer++) {
            if (!config.isMoeLayer(layer)) {
                continue;
            }
            owners[layer] = new int[config.nRoutedExperts()];
            Arrays.fill(owners[layer], -1);
            for (int w = workers.size() - 1; w >= 0; w--) {
                for (int e : workers.get(w).experts().routed(layer)) {
                    owners[layer][e] = w;
                }
            }
            for (int e = 0; e < owners[layer].length; e++) {
                if (owners[layer][e] < 0) {
                    throw new IllegalArgumentException("routed expert " + e + " of layer " + layer + " is hosted by no expert worker");
                }
            }
        }
        return owners;
    }

    @Override
    public float[] forward(int layer, int microBatch, float[] x, ExpertRoutes routes) {
        if (layer == 0) {
            steps[microBatch]++;
        }
        WorkerShares shares = split(layer, routes);
        List<Peer> targets = new ArrayList<>();
        List<Supplier<float[]>> calls = new ArrayList<>();
        List<Integer> targetWorkers = new ArrayList<>();
        for (int w = 0; w < peers.size(); w++) {
            if (shares.rows[w] == 0) {
                continue;
            }
            int worker = w;
            targets.add(peers.get(w));
            targetWorkers.add(w);
            calls.add(() -> exchange(worker, layer, microBatch, x, shares));
        }
        List<float[]> partials = ConcurrentReplies.await(connections.senders(), options.replyTimeout(), targets, calls);
        int dim = config.hiddenSize();
        float[] out = new float[x.length];
        for (int i = 0; i < partials.size(); i++) {
            int w = targetWorkers.get(i);
            float[] partial = partials.get(i);
            for (int r = 0; r < shares.rows[w]; r++) {
                int to = shares.tokens[w][r] * dim;
                for (int c = 0; c < dim; c++) {
                    out[to + c] += partial[r * dim + c];
                }
            }
        }
        return out;
    }

    private float[] exchange(int worker, int layer, int microBatch, float[] x, WorkerShares shares) {
        ExchangeStream stream = streams.get(microBatch).get(worker);
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
            throw new PeerFailureException(stream.peer(), "answered " + reply.getRowCount() + " rows for " + rows + " in layer " + layer, null);
        }
        return HiddenRows.read((FixedSizeBinaryVector) reply.getVector(HiddenRows.FIELD), dim);
    }

    /** Each worker's rows: the tokens they are, and their experts there as [row, slots] ids and weights padded with -1. */
    private record WorkerShares(int[] rows, int[][] tokens, int[][] ids, float[][] weights) {
    }

    private WorkerShares split(int layer, ExpertRoutes routes) {
        int workers = peers.size();
        int tokens = routes.tokens();
        int k = routes.k();
        int slots = DataPlaneSchemas.expertSlots(config);
        int[] rows = new int[workers];
        int[][] tokenRows = new int[workers][tokens];
        int[][] rowOf = new int[workers][tokens];
        int[][] filled = new int[workers][tokens];
        int[][] ids = new int[workers][tokens * slots];
        float[][] weights = new float[workers][tokens * slots];
        for (int w = 0; w < workers; w++) {
            Arrays.fill(rowOf[w], -1);
            Arrays.fill(ids[w], -1);
        }
        for (int t = 0; t < tokens; t++) {
            int companion = companionWorker(layer, routes, t);
            for (int j = 0; j < k; j++) {
                int id = routes.expertIds()[t * k + j];
                int w = owners[layer] != null && id < config.nRoutedExperts() ? owners[layer][id] : companion;
                if (rowOf[w][t] < 0) {
                    rowOf[w][t] = rows[w];
                    tokenRows[w][rows[w]++] = t;
                }
                int row = rowOf[w][t];
                int at = row * slots + filled[w][row]++;
                ids[w][at] = id;
                weights[w][at] = routes.weights()[t * k + j];
            }
        }
        return new WorkerShares(rows, tokenRows, ids, weights);
    }

    /** Where token t's shared expert or dense MLP runs: with its first routed expert, else spread by token. */
    private int companionWorker(int layer, ExpertRoutes routes, int t) {
        if (owners[layer] != null) {
            for (int j = 0; j < routes.k(); j++) {
                int id = routes.expertIds()[t * routes.k() + j];
                if (id < config.nRoutedExperts()) {
                    return owners[layer][id];
                }
            }
        }
        return t % peers.size();
    }

    @Override
    public void close() {
        connections.close();
    }
}
