package dev.expertmesh.coordinator.routing;

import dev.expertmesh.coordinator.dispatch.ReplicaLoads;
import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertRoutes;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tokens routed over the last N scheduler steps: per (layer, logical expert), from the serving
 * scheduler's routes, and per (layer, expert, expert worker), from the replicas the expert stage
 * chose. A step ends at each step the scheduler completes (one forward pass each); a step that
 * failed is recomputed, and what it routed counts with the step that completes next, as the
 * experts did run it. Each completed step is also handed to the {@link StepSink} (the trace).
 */
public final class ExpertLoadWindow implements LayerObserver, ReplicaLoads, AutoCloseable {
    private final int experts;
    private final int cells;
    private final int capacity;
    private final SlidingCounts logical;
    private final Map<String, SlidingCounts> replicas = new ConcurrentHashMap<>();
    private final StepSink sink;
    private long step;

    public ExpertLoadWindow(ModelConfig config, int steps, StepSink sink) {
        this.experts = Math.max(config.nRoutedExperts(), 1);
        this.cells = config.numHiddenLayers() * experts;
        this.capacity = steps;
        this.logical = new SlidingCounts(cells, steps);
        this.sink = sink;
    }

    @Override
    public void routed(int layer, ExpertRoutes routes) {
        for (int id : routes.expertIds()) {
            logical.add(layer * experts + id, 1);
        }
    }

    @Override
    public void answered(int layer, String nodeId, int[] tokensPerExpert) {
        SlidingCounts worker = replicas.computeIfAbsent(nodeId, id -> new SlidingCounts(cells, capacity));
        for (int e = 0; e < tokensPerExpert.length; e++) {
            if (tokensPerExpert[e] > 0) {
                worker.add(layer * experts + e, tokensPerExpert[e]);
            }
        }
    }

    /**
     * At the scheduler's step boundary, when no forward pass is in flight: closes the step, hands
     * it to the sink, and forgets workers the window no longer saw any token go to (workers gone).
     */
    public synchronized void stepCompleted() {
        sink.step(step++, System.currentTimeMillis(), logical.closeStep());
        replicas.values().forEach(SlidingCounts::closeStep);
        replicas.values().removeIf(SlidingCounts::idle);
    }

    /** The window as it is now, logical and per replica at the same step. */
    public synchronized ExpertLoad load() {
        Map<String, long[]> byWorker = new LinkedHashMap<>();
        replicas.forEach((node, counts) -> byWorker.put(node, counts.window()));
        return new ExpertLoad(logical.steps(), capacity, experts, logical.window(), byWorker);
    }

    @Override
    public void close() {
        sink.close();
    }
}
