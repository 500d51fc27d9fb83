package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.client.ExpertMeshClient;
import dev.expertmesh.proto.ClusterStatus;
import dev.expertmesh.proto.ExpertPlacement;
import dev.expertmesh.proto.NodeDescriptor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Shows a cluster: members with roles and endpoints, the shard-map epoch, which worker hosts which "
                + "experts, and the tokens routed to each expert so far.")
final class StatusCommand implements Callable<Integer> {
    private static final Duration STATUS_DEADLINE = Duration.ofSeconds(10);

    @Option(names = "--coordinator", required = true, paramLabel = "HOST:PORT", description = "The coordinator's gRPC address.")
    String coordinator;

    @Option(names = "--format", defaultValue = "text", paramLabel = "FORMAT",
            description = "text, or json (one line: members, epoch, experts). Default: ${DEFAULT-VALUE}.")
    Output.Format format;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        ClusterStatus status;
        try (ExpertMeshClient client = ExpertMeshClient.builder().address(coordinator).defaultDeadline(STATUS_DEADLINE).build()) {
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
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("members", status.getMembersList().stream().map(StatusCommand::member).toList());
        json.put("epoch", status.getShardMap().getEpoch());
        json.put("experts", status.getShardMap().getPlacementsList().stream().map(p -> Map.of(
                "layer", p.getLayer(), "expert", p.getExpert(), "workers", p.getNodeIdsList(), "tokens_routed", p.getTokensRouted())).toList());
        return json;
    }

    private static Map<String, Object> member(NodeDescriptor m) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("node_id", m.getNodeId());
        json.put("role", m.getRole().name().toLowerCase().replace('_', '-'));
        json.put("endpoint", m.getHost() + ":" + m.getPort());
        json.put("device", m.getDevice());
        json.put("loaded_epoch", m.getLoadedEpoch());
        return json;
    }

    private static void printText(ClusterStatus status, PrintWriter out) {
        out.printf("%-17s %-38s %-22s %s%n", "ROLE", "NODE", "ENDPOINT", "DEVICE");
        for (NodeDescriptor m : status.getMembersList()) {
            out.printf("%-17s %-38s %-22s %s%n", m.getRole().name().toLowerCase().replace('_', '-'), m.getNodeId(),
                    m.getHost() + ":" + m.getPort(), m.getDevice());
        }
        out.println();
        out.println("shard map epoch " + status.getShardMap().getEpoch());
        Map<String, Map<Integer, List<Integer>>> hosted = new TreeMap<>();
        for (ExpertPlacement p : status.getShardMap().getPlacementsList()) {
            for (String node : p.getNodeIdsList()) {
                hosted.computeIfAbsent(node, n -> new TreeMap<>()).computeIfAbsent(p.getLayer(), l -> new ArrayList<>()).add(p.getExpert());
            }
        }
        hosted.forEach((node, layers) -> out.println("  " + node + ": experts " + layers.values().iterator().next()
                + (layers.size() > 1 ? " in each of " + layers.size() + " MoE layers" : "")));
        List<ExpertPlacement> busiest = status.getShardMap().getPlacementsList().stream()
                .filter(p -> p.getTokensRouted() > 0)
                .sorted((a, b) -> Long.compare(b.getTokensRouted(), a.getTokensRouted()))
                .limit(10).toList();
        if (!busiest.isEmpty()) {
            out.println("most routed: " + String.join(", ", busiest.stream()
                    .map(p -> "layer " + p.getLayer() + " expert " + p.getExpert() + " (" + p.getTokensRouted() + ")").toList()));
        }
    }
}
