package dev.expertmesh.coordinator.metrics;

import dev.expertmesh.attention.CacheUsage;
import dev.expertmesh.coordinator.RoutingCounts;
import dev.expertmesh.coordinator.routing.ExpertLoad;
import dev.expertmesh.coordinator.routing.ExpertLoadStatus;
import dev.expertmesh.coordinator.routing.ExpertLoadWindow;
import dev.expertmesh.engine.Scheduler;
import dev.expertmesh.membership.RoleName;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.proto.WorkerState;
import dev.expertmesh.proto.WorkerStatus;

import java.util.List;
import java.util.OptionalDouble;
import java.util.function.Supplier;

/** The coordinator's metrics in Prometheus' text exposition format (version 0.0.4). */
public final class PrometheusText {
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    private static final String PREFIX = "expertmesh_";
    private static final List<WorkerState> WORKER_STATES = List.of(WorkerState.SERVING, WorkerState.LOADING, WorkerState.DRAINING,
            WorkerState.GONE, WorkerState.IDLE);

    private final ServingMetrics serving;
    private final Scheduler scheduler;
    private final RoutingCounts routing;
    private final ExpertLoadWindow window;
    private final ModelConfig config;
    private final ClusterChanges changes;
    private final Supplier<List<WorkerStatus>> workers;

    /** {@code workers} says what the coordinator does with each worker now (IllegalStateException while it starts). */
    public PrometheusText(ServingMetrics serving, Scheduler scheduler, RoutingCounts routing, ExpertLoadWindow window, ModelConfig config,
                          ClusterChanges changes, Supplier<List<WorkerStatus>> workers) {
        this.serving = serving;
        this.scheduler = scheduler;
        this.routing = routing;
        this.window = window;
        this.config = config;
        this.changes = changes;
        this.workers = workers;
    }

    /** Every metric as it is now. */
    public String render() {
        StringBuilder out = new StringBuilder();
        histogram(out, "time_to_first_token_seconds", "Time from a request's arrival to its first generated token.",
                serving.timeToFirstToken());
        histogram(out, "time_per_output_token_seconds", "Time between consecutive generated tokens of a request.",
                serving.timePerOutputToken());
        single(out, "num_requests_running", "gauge", "Requests in the running batch.", scheduler.running());
        single(out, "num_requests_waiting", "gauge", "Requests waiting to be admitted.", scheduler.waiting());
        CacheUsage cache = scheduler.cacheUsage();
        single(out, "kv_cache_blocks_used", "gauge", "Latent KV cache blocks in use on the attention workers.", cache.usedBlocks());
        single(out, "kv_cache_blocks_free", "gauge", "Latent KV cache blocks free on the attention workers.", cache.freeBlocks());
        single(out, "prompt_tokens_total", "counter", "Prompt tokens of accepted requests.", serving.promptTokens());
        single(out, "generation_tokens_total", "counter", "Tokens generated.", serving.generatedTokens());
        routedTokens(out);
        expertLoad(out);
        single(out, "epoch_flips_total", "counter", "Shard-map epochs the coordinator flipped to while serving.", changes.flips());
        histogram(out, "recovery_seconds", "From a worker's failed call to the first step completed after it was routed around.",
                changes.recoverySeconds());
        single(out, "requests_retried_total", "counter", "Requests whose KV cache was lost with a worker, recomputed on the others.",
                scheduler.retried());
        workerStates(out);
        return out.toString();
    }

    private static void header(StringBuilder out, String name, String type, String help) {
        out.append("# HELP ").append(PREFIX).append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(PREFIX).append(name).append(' ').append(type).append('\n');
    }

    private static void single(StringBuilder out, String name, String type, String help, long value) {
        header(out, name, type, help);
        out.append(PREFIX).append(name).append(' ').append(value).append('\n');
    }

    private static void histogram(StringBuilder out, String name, String help, Histogram.Snapshot h) {
        header(out, name, "histogram", help);
        for (int i = 0; i < h.bounds().length; i++) {
            bucket(out, name, Double.toString(h.bounds()[i]), h.cumulative()[i]);
        }
        bucket(out, name, "+Inf", h.count());
        out.append(PREFIX).append(name).append("_sum ").append(h.sum()).append('\n');
        out.append(PREFIX).append(name).append("_count ").append(h.count()).append('\n');
    }

    private static void bucket(StringBuilder out, String name, String le, long count) {
        out.append(PREFIX).append(name).append("_bucket{le=\"").append(le).append("\"} ").append(count).append('\n');
    }

    /** One series per worker and state, 1 for the state it is in: the usual shape of an enum in Prometheus. */
    private void workerStates(StringBuilder out) {
        List<WorkerStatus> now;
        try {
            now = workers.get();
        } catch (IllegalStateException starting) {
            return;
        }
        header(out, "worker_state", "gauge", "What the coordinator does with each worker: serving, loading, draining, gone or idle.");
        for (WorkerStatus worker : now) {
            for (WorkerState state : WORKER_STATES) {
                out.append(PREFIX).append("worker_state{node_id=\"").append(worker.getNodeId()).append("\",role=\"")
                        .append(RoleName.of(worker.getRole())).append("\",state=\"")
                        .append(state.name().toLowerCase()).append("\"} ").append(worker.getState() == state ? 1 : 0).append('\n');
            }
        }
    }

    /** The routing window, in the manner of SGLang's and vLLM's EPLB metrics: logical experts, replicas, and each layer's balancedness. */
    private void expertLoad(StringBuilder out) {
        ExpertLoad load = window.load();
        single(out, "expert_load_window_steps", "gauge", "Scheduler steps the expert load window covers.", load.steps());
        header(out, "expert_load_tokens", "gauge", "Tokens routed to each routed expert of each MoE layer over the window.");
        forEachExpert((layer, expert) -> series(out, "expert_load_tokens", "layer=\"" + layer + "\",expert=\"" + expert + "\"",
                Long.toString(load.tokens(layer, expert))));
        header(out, "expert_replica_load_tokens", "gauge", "Tokens each expert worker's replica of a routed expert ran over the window.");
        forEachExpert((layer, expert) -> load.replicaTokens(layer, expert).forEach((node, tokens) -> series(out, "expert_replica_load_tokens",
                "layer=\"" + layer + "\",expert=\"" + expert + "\",node_id=\"" + node + "\"", Long.toString(tokens))));
        header(out, "expert_load_balancedness", "gauge",
                "Mean over max of the tokens each expert worker ran for a MoE layer over the window; 1 is perfectly balanced.");
        List<String> serving = servingExpertWorkers();
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            OptionalDouble balancedness = config.isMoeLayer(layer) ? load.balance(layer, serving).balancedness() : OptionalDouble.empty();
            if (balancedness.isPresent()) {
                series(out, "expert_load_balancedness", "layer=\"" + layer + "\"", Double.toString(balancedness.getAsDouble()));
            }
        }
    }

    private List<String> servingExpertWorkers() {
        try {
            return ExpertLoadStatus.servingExpertWorkers(workers.get());
        } catch (IllegalStateException starting) {
            return List.of();
        }
    }

    private interface ExpertCell {
        void accept(int layer, int expert);
    }

    private void forEachExpert(ExpertCell each) {
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            if (config.isMoeLayer(layer)) {
                for (int expert = 0; expert < config.nRoutedExperts(); expert++) {
                    each.accept(layer, expert);
                }
            }
        }
    }

    private static void series(StringBuilder out, String name, String labels, String value) {
        out.append(PREFIX).append(name).append('{').append(labels).append("} ").append(value).append('\n');
    }

    private void routedTokens(StringBuilder out) {
        header(out, "expert_routed_tokens_total", "counter", "Tokens routed to each routed expert of each MoE layer.");
        forEachExpert((layer, expert) -> series(out, "expert_routed_tokens_total", "layer=\"" + layer + "\",expert=\"" + expert + "\"",
                Long.toString(routing.tokens(layer, expert))));
    }
}
