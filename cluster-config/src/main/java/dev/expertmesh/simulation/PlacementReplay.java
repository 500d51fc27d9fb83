package dev.expertmesh.simulation;

import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.placement.ExpertLoads;
import dev.expertmesh.placement.ExpertWorker;
import dev.expertmesh.placement.PlacementPolicy;
import dev.expertmesh.placement.ShardMap;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Replays a trace's windows against one placement policy: each window placed as the policy places it, and its
 * tokens run where that placement puts them, each expert's tokens split evenly over its replicas as the
 * coordinator's dispatch spreads them.
 */
public final class PlacementReplay {
    private final ModelConfig config;
    private final List<ExpertWorker> workers;

    public PlacementReplay(ModelConfig config, List<ExpertWorker> workers) {
        this.config = config;
        this.workers = List.copyOf(workers);
    }

    /** bf16 weights of one routed expert: gate, up and down, each moe_intermediate_size × hidden_size. */
    public static long bytesPerRoutedExpert(ModelConfig config) {
        return 3L * config.moeIntermediateSize() * config.hiddenSize() * Short.BYTES;
    }

    public PolicyOutcome replay(String name, PlacementPolicy policy, List<ReplayWindow> windows) {
        int[] moeLayers = IntStream.range(0, config.numHiddenLayers()).filter(config::isMoeLayer).toArray();
        double[][] carried = new double[moeLayers.length][workers.size()];
        double[] busiest = new double[moeLayers.length];
        int[] peakHosted = new int[workers.size()];
        for (ReplayWindow window : windows) {
            ShardMap map = policy.place(config, workers, window.placedOn());
            for (int i = 0; i < moeLayers.length; i++) {
                double[] load = workerLoads(map, moeLayers[i], window.routed());
                busiest[i] += Arrays.stream(load).max().orElseThrow();
                for (int w = 0; w < load.length; w++) {
                    carried[i][w] += load[w];
                }
            }
            Arrays.setAll(peakHosted, w -> Math.max(peakHosted[w], hosted(map, workers.get(w).nodeId())));
        }
        List<LayerOutcome> layers = new ArrayList<>();
        for (int i = 0; i < moeLayers.length; i++) {
            layers.add(new LayerOutcome(moeLayers[i], carried[i], busiest[i]));
        }
        List<WorkerMemory> memory = IntStream.range(0, workers.size())
                .mapToObj(w -> new WorkerMemory(workers.get(w).nodeId(), peakHosted[w], peakHosted[w] * bytesPerRoutedExpert(config)))
                .toList();
        return new PolicyOutcome(name, layers, memory);
    }

    /** Tokens each worker runs for {@code layer}: its replicas' shares of their experts' tokens. */
    private double[] workerLoads(ShardMap map, int layer, ExpertLoads routed) {
        List<String> ids = workers.stream().map(ExpertWorker::nodeId).toList();
        double[] load = new double[workers.size()];
        float[] tokens = routed.layer(layer);
        for (int expert = 0; expert < tokens.length; expert++) {
            List<String> replicas = map.workersOf(layer, expert);
            for (String replica : replicas) {
                load[ids.indexOf(replica)] += (double) tokens[expert] / replicas.size();
            }
        }
        return load;
    }

    /** (layer, expert) pairs {@code nodeId} hosts in {@code map}. */
    private static int hosted(ShardMap map, String nodeId) {
        return map.routedByLayer(nodeId).values().stream().mapToInt(experts -> experts.length).sum();
    }
}
