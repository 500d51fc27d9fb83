package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.client.ExpertMeshClient;
import dev.expertmesh.membership.RoleName;
import dev.expertmesh.proto.ClusterStatus;
import dev.expertmesh.proto.ExpertPlacement;
import dev.expertmesh.proto.LayerLoad;
import dev.expertmesh.proto.NodeDescriptor;
import dev.expertmesh.proto.Recovery;
import dev.expertmesh.proto.WorkerState;
import dev.expertmesh.proto.WorkerStatus;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Shows a cluster: members with roles, endpoints, states and how each worker stores its weights, the shard-map epoch (the newest, and the one "
                + "served), which workers host which experts (several for a replicated expert), the tokens routed to each "
                + "expert so far and over the routing window (with each layer's load per worker), epoch flips, and the "
                + "recoveries from failed workers.")
final class StatusCommand implements Callable<Integer> {
    private static final Duration STATUS_DEADLINE = Duration.ofSeconds(10);

    @Option(names = "--coordinator", required = true, paramLabel = "HOST:PORT", description = "The coordinator's gRPC address.")
    String coordinator;

    @Option(names = "--format", defaultValue = "text", paramLabel = "FORMAT",
            description = "text, or json (one line: members (with each worker's expert_quantization and "
                    + "attention_and_dense_quantization), epoch, serving_epoch, epoch_flips, experts, gone, recoveries, "
                    + "window_steps, window_capacity, layer_loads, workers_load). "
                    + "Default: ${DEFAULT-VALUE}.")
    Output.Format format;

    @Mixin
    CoordinatorAccess access;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        ClusterStatus status;
        try (ExpertMeshClient client = access.client().address(coordinator).defaultDeadline(STATUS_DEADLINE).build()) {
            status = client.status();
        }
        PrintWriter out = spec.commandLine().getOut();
        if (format == Output.Format.json) {
            out.println(new ObjectMapper().writeValueAsString(json(status)));
        } else {
            printText(status, out);
        }
        return 0;
    }

    private static Map<String, Object> json(ClusterStatus status) {
        Map<String, WorkerStatus> states = states(status);
        Set<String> members = status.getMembersList().stream().map(NodeDescriptor::getNodeId).collect(Collectors.toSet());
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("members", status.getMembersList().stream().map(m -> member(m, states.get(m.getNodeId()))).toList());
        json.put("epoch", status.getShardMap().getEpoch());
        json.put("serving_epoch", status.getServingEpoch());
        json.put("epoch_flips", status.getEpochFlips());
        json.put("experts", status.getShardMap().getPlacementsList().stream().map(p -> Map.of(
                "layer", p.getLayer(), "expert", p.getExpert(), "workers", p.getNodeIdsList(), "tokens_routed", p.getTokensRouted(),
                "window_tokens", p.getWindowTokens(), "replica_window_tokens", new TreeMap<>(p.getReplicaWindowTokensMap()))).toList());
        json.put("gone", states.values().stream().filter(w -> !members.contains(w.getNodeId()))
                .map(w -> Map.of("node_id", w.getNodeId(), "role", RoleName.of(w.getRole()))).toList());
        json.put("recoveries", status.getRecoveriesList().stream().map(r -> Map.of("node_id", r.getNodeId(), "role", RoleName.of(r.getRole()),
                "action", r.getAction(), "seconds", r.getSeconds(), "failed_at_ms", r.getFailedAtMs())).toList());
        json.put("window_steps", status.getWindowSteps());
        json.put("window_capacity", status.getWindowCapacity());
        json.put("layer_loads", status.getLayerLoadsList().stream().map(l -> Map.of("layer", l.getLayer(),
                "workers", new TreeMap<>(l.getWorkerTokensMap()), "balancedness", l.getBalancedness())).toList());
        json.put("workers_load", workersLoad(status));
        return json;
    }

    /** Each expert worker's tokens over the window, all MoE layers together, by node id. */
    private static Map<String, Long> workersLoad(ClusterStatus status) {
        Map<String, Long> load = new TreeMap<>();
        status.getLayerLoadsList().forEach(l -> l.getWorkerTokensMap().forEach((node, tokens) -> load.merge(node, tokens, Long::sum)));
        return load;
    }

    private static Map<String, WorkerStatus> states(ClusterStatus status) {
        return status.getWorkersList().stream().collect(Collectors.toMap(WorkerStatus::getNodeId, w -> w, (a, b) -> a, LinkedHashMap::new));
    }

    private static Map<String, Object> member(NodeDescriptor m, WorkerStatus worker) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("node_id", m.getNodeId());
        json.put("role", RoleName.of(m.getRole()));
        json.put("endpoint", m.getHost() + ":" + m.getPort());
        if (m.getDataPort() != 0) {
            json.put("data_port", m.getDataPort());
        }
        json.put("device", m.getDevice());
        if (!m.getExpertQuantization().isEmpty()) {
            json.put("expert_quantization", m.getExpertQuantization());
        }
        if (!m.getAttentionAndDenseQuantization().isEmpty()) {
            json.put("attention_and_dense_quantization", m.getAttentionAndDenseQuantization());
        }
        json.put("loaded_epoch", m.getLoadedEpoch());
        if (worker != null) {
            json.put("state", state(worker.getState()));
        }
        return json;
    }


    /** How the node stores what it loaded: "experts int8, dense none" for an expert worker, "attention none" for an attention worker. */
    private static String weights(NodeDescriptor m) {
        return switch (m.getRole()) {
            case EXPERT_WORKER -> "experts " + m.getExpertQuantization() + ", dense " + m.getAttentionAndDenseQuantization();
            case ATTENTION_WORKER -> "attention " + m.getAttentionAndDenseQuantization();
            default -> "";
        };
    }

    private static String state(WorkerState state) {
        return state.name().toLowerCase();
    }

    private static void printText(ClusterStatus status, PrintWriter out) {
        Map<String, WorkerStatus> states = states(status);
        out.printf("%-17s %-38s %-22s %-8s %-9s %s%n", "ROLE", "NODE", "ENDPOINT", "DEVICE", "STATE", "WEIGHTS");
        for (NodeDescriptor m : status.getMembersList()) {
            WorkerStatus worker = states.remove(m.getNodeId());
            out.printf("%-17s %-38s %-22s %-8s %-9s %s%n", RoleName.of(m.getRole()), m.getNodeId(), m.getHost() + ":" + m.getPort(), m.getDevice(),
                    worker == null ? "" : state(worker.getState()), weights(m));
        }
        states.values().forEach(w -> out.printf("%-17s %-38s %-22s %-8s %-9s %s%n", RoleName.of(w.getRole()), w.getNodeId(), "-", "-",
                "gone", "-"));
        out.println();
        out.println("shard map epoch " + status.getShardMap().getEpoch() + ", serving epoch " + status.getServingEpoch()
                + " (" + status.getEpochFlips() + (status.getEpochFlips() == 1 ? " flip" : " flips") + " while serving)");
        Map<String, Map<Integer, List<Integer>>> hosted = new TreeMap<>();
        for (ExpertPlacement p : status.getShardMap().getPlacementsList()) {
            for (String node : p.getNodeIdsList()) {
                hosted.computeIfAbsent(node, n -> new TreeMap<>()).computeIfAbsent(p.getLayer(), l -> new ArrayList<>()).add(p.getExpert());
            }
        }
        hosted.forEach((node, layers) -> out.println("  " + node + ": experts " + layers.values().iterator().next()
                + (layers.size() > 1 ? " in each of " + layers.size() + " MoE layers" : "")));
        long replicated = status.getShardMap().getPlacementsList().stream().filter(p -> p.getNodeIdsCount() > 1).count();
        if (replicated > 0) {
            out.println("replicated: " + replicated + " of " + status.getShardMap().getPlacementsCount() + " (layer, expert) pairs on several workers");
        }
        for (Recovery r : status.getRecoveriesList()) {
            out.printf("recovered from %s %s (%s) in %d ms at %s%n", RoleName.of(r.getRole()), r.getNodeId(), r.getAction(),
                    Math.round(r.getSeconds() * 1000), Instant.ofEpochMilli(r.getFailedAtMs()));
        }
        List<ExpertPlacement> busiest = status.getShardMap().getPlacementsList().stream()
                .filter(p -> p.getTokensRouted() > 0)
                .sorted((a, b) -> Long.compare(b.getTokensRouted(), a.getTokensRouted()))
                .limit(10).toList();
        if (!busiest.isEmpty()) {
            out.println("most routed: " + String.join(", ", busiest.stream()
                    .map(p -> "layer " + p.getLayer() + " expert " + p.getExpert() + " (" + p.getTokensRouted() + ")").toList()));
        }
        printWindow(status, out);
    }

    /** The routing window: its busiest experts, and per MoE layer the most and the mean tokens an expert worker ran. */
    private static void printWindow(ClusterStatus status, PrintWriter out) {
        List<ExpertPlacement> busiest = status.getShardMap().getPlacementsList().stream()
                .filter(p -> p.getWindowTokens() > 0)
                .sorted((a, b) -> Long.compare(b.getWindowTokens(), a.getWindowTokens()))
                .limit(10).toList();
        if (busiest.isEmpty()) {
            return;
        }
        out.println("busiest over the last " + status.getWindowSteps() + " steps: " + String.join(", ", busiest.stream()
                .map(p -> "layer " + p.getLayer() + " expert " + p.getExpert() + " (" + p.getWindowTokens() + ")").toList()));
        for (LayerLoad l : status.getLayerLoadsList()) {
            long max = l.getWorkerTokensMap().values().stream().mapToLong(Long::longValue).max().orElse(0);
            double mean = l.getWorkerTokensMap().values().stream().mapToLong(Long::longValue).average().orElse(0);
            out.printf("  layer %d: max %d, mean %.1f tokens per expert worker (balancedness %.2f)%n", l.getLayer(), max, mean,
                    l.getBalancedness());
        }
    }
}
