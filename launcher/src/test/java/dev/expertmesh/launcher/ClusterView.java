package dev.expertmesh.launcher;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.stream.StreamSupport;

/** One `expertmesh status --format json` answer: the members, the epoch, and which workers each expert is routed to. */
record ClusterView(JsonNode root) {
    static ClusterView parse(String json) throws JsonProcessingException {
        return new ClusterView(new ObjectMapper().readTree(json));
    }

    /** The status of the coordinator at {@code address} (host:port of its gRPC API), asked with {@code clientFlags}. */
    static ClusterView of(String address, List<String> clientFlags) throws IOException {
        List<String> args = new ArrayList<>(List.of("status", "--coordinator", address, "--format", "json"));
        args.addAll(clientFlags);
        Commands.Run r = Commands.run(args.toArray(String[]::new));
        if (r.exitCode() != 0) {
            throw new IOException("status failed: " + r.err());
        }
        return parse(r.out());
    }

    /** Polls the status until the coordinator routes to exactly {@code expertWorkers} and {@code attentionWorkers}, as after a start. */
    static ClusterView awaitRouting(String address, List<String> clientFlags, int expertWorkers, int attentionWorkers) throws InterruptedException {
        return await(address, clientFlags, "routing to " + expertWorkers + " expert workers, " + attentionWorkers + " attention workers",
                s -> s.servingExpertWorkers() == expertWorkers && s.attentionWorkers() == attentionWorkers, Duration.ofSeconds(90));
    }

    /** Polls the status until {@code condition} holds; fails with {@code what} and the last status after {@code timeout}. */
    static ClusterView await(String address, List<String> clientFlags, String what, Predicate<ClusterView> condition, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "none";
        while (System.nanoTime() < deadline) {
            try {
                ClusterView view = of(address, clientFlags);
                if (condition.test(view)) {
                    return view;
                }
                last = view.json();
            } catch (IOException e) {
                last = e.getMessage();
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the cluster was not " + what + " within " + timeout.toSeconds() + " s; last status: " + last);
    }

    String json() {
        return root.toString();
    }

    /** Expert workers the shard map routes to that serve its epoch. */
    int servingExpertWorkers() {
        return servingExpertWorkerIds().size();
    }

    long attentionWorkers() {
        return members().stream().filter(m -> role(m).equals("attention-worker") && state(m).equals("serving")).count();
    }

    /** The node id of the member listening on {@code node}'s endpoint, while it is a member. */
    Optional<String> nodeId(ProcessCluster.Node node) {
        return nodeIdAt(node.endpoint());
    }

    /** The node id of the member listening on {@code endpoint} (host:port), while it is a member. */
    Optional<String> nodeIdAt(String endpoint) {
        return members().stream().filter(m -> m.get("endpoint").asText().equals(endpoint))
                .map(m -> m.get("node_id").asText()).findFirst();
    }

    /** The member's state (serving, loading, draining, gone); empty once it is no member. */
    Optional<String> state(String nodeId) {
        return member(nodeId).map(ClusterView::state);
    }

    boolean routesTo(String nodeId) {
        return routedWorkers().contains(nodeId);
    }

    Set<String> routedWorkers() {
        Set<String> ids = new TreeSet<>();
        experts().forEach(e -> e.get("workers").forEach(w -> ids.add(w.asText())));
        return ids;
    }

    /** Whether every expert routed to {@code nodeId} is also routed to another worker. */
    boolean everyExpertAlsoElsewhere(String nodeId) {
        return experts().stream().filter(e -> workers(e).contains(nodeId)).allMatch(e -> workers(e).size() > 1);
    }

    /** Whether some expert is routed to {@code nodeId} alone. */
    boolean hostsAnExpertAlone(String nodeId) {
        return experts().stream().anyMatch(e -> workers(e).equals(List.of(nodeId)));
    }

    /** Expert workers that are members serving the epoch, in node-id order. */
    private List<String> servingExpertWorkerIds() {
        return routedWorkers().stream().filter(id -> member(id).filter(this::serving).isPresent()).toList();
    }

    private boolean serving(JsonNode member) {
        return member.get("loaded_epoch").asLong() == root.get("epoch").asLong() && root.get("epoch").asLong() > 0
                && state(member).equals("serving");
    }

    private Optional<JsonNode> member(String nodeId) {
        return members().stream().filter(m -> m.get("node_id").asText().equals(nodeId)).findFirst();
    }

    private List<JsonNode> members() {
        return StreamSupport.stream(root.get("members").spliterator(), false).toList();
    }

    private List<JsonNode> experts() {
        return StreamSupport.stream(root.get("experts").spliterator(), false).toList();
    }

    private static List<String> workers(JsonNode expert) {
        return StreamSupport.stream(expert.get("workers").spliterator(), false).map(JsonNode::asText).toList();
    }

    private static String role(JsonNode member) {
        return member.get("role").asText();
    }

    private static String state(JsonNode member) {
        return member.path("state").asText();
    }
}
