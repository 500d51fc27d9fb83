package dev.expertmesh.simulation;

import dev.expertmesh.placement.ExpertWorker;

import java.util.List;
import java.util.stream.IntStream;

/**
 * The expert workers a simulation places on: {@code workers} of them spread evenly over {@code nodes} machines
 * (EPLB's hierarchical policy keeps expert groups within one), all with the same memory, so that memory-weighted
 * placement weighs load alone.
 */
public record SimulatedCluster(int workers, int nodes) {
    private static final long MEMORY_BYTES = 1L << 40;

    public SimulatedCluster {
        if (workers < 1) {
            throw new IllegalArgumentException("--workers " + workers + ": expected 1 or more expert workers");
        }
        if (nodes < 1 || workers % nodes != 0) {
            throw new IllegalArgumentException("--nodes " + nodes + ": expected a number of machines that divides --workers " + workers);
        }
    }

    /** worker-0, worker-1, ..., the first workers / nodes on node-0 and so on. */
    public List<ExpertWorker> expertWorkers() {
        int perNode = workers / nodes;
        return IntStream.range(0, workers).mapToObj(w -> new ExpertWorker("worker-" + w, "node-" + w / perNode, MEMORY_BYTES)).toList();
    }
}
