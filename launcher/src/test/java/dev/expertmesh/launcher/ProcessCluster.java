package dev.expertmesh.launcher;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * A coordinator and its workers, each role a process of its own on loopback started as users start
 * them, joined under a cluster name of their own.
 */
final class ProcessCluster implements AutoCloseable {
    static final String HOST = "127.0.0.1";

    /** One role's process and the port its ready line named (a worker's Flight port, the coordinator's gRPC port). */
    record Node(String role, Process process, int port) {
        String endpoint() {
            return HOST + ":" + port;
        }
    }

    private final List<String> common;
    /** Flags of the commands that call the coordinator's API: its API key, if it needs one. */
    private final List<String> clientFlags;
    private final int hazelcastPort;
    private final List<Process> processes = new ArrayList<>();
    private final List<Node> workers = new ArrayList<>();
    private String address;
    private int httpPort;

    private ProcessCluster(String model, int hazelcastPort, List<String> clientFlags) {
        common = List.of("--model", model, "--cluster-name", "expertmesh-faults-" + hazelcastPort, "--host", HOST);
        this.hazelcastPort = hazelcastPort;
        this.clientFlags = clientFlags;
    }

    /** Starts the coordinator (with {@code coordinatorFlags}), then the workers, and waits until it routes to every expert worker. */
    static ProcessCluster start(String model, List<String> coordinatorFlags, int expertWorkers, int attentionWorkers) throws Exception {
        return start(model, coordinatorFlags, List.of(), expertWorkers, attentionWorkers);
    }

    /** The same, calling the coordinator's API with {@code clientFlags} (--api-key-file FILE for a coordinator that needs a key). */
    static ProcessCluster start(String model, List<String> coordinatorFlags, List<String> clientFlags, int expertWorkers,
                                int attentionWorkers) throws Exception {
        ProcessCluster cluster = new ProcessCluster(model, Commands.freePort(), clientFlags);
        try {
            cluster.startCoordinator(coordinatorFlags);
            cluster.startWorkers("attention-worker", attentionWorkers);
            cluster.startWorkers("expert-worker", expertWorkers);
            ClusterView.awaitRouting(cluster.address(), clientFlags, expertWorkers, attentionWorkers);
            return cluster;
        } catch (Exception | AssertionError e) {
            cluster.close();
            throw e;
        }
    }

    /** The coordinator's gRPC address. */
    String address() {
        return address;
    }

    /** The coordinator's HTTP port. */
    int httpPort() {
        return httpPort;
    }

    /** Starts {@code count} workers of {@code role} together and waits for each one's ready line. */
    List<Node> startWorkers(String role, int count) throws Exception {
        List<Process> started = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            started.add(launch(List.of(role, "--members", HOST + ":" + hazelcastPort, "--hazelcast-port", String.valueOf(hazelcastPort + 1))));
        }
        List<Node> nodes = new ArrayList<>();
        for (Process p : started) {
            nodes.add(new Node(role, p, Commands.awaitReadyLine(p)));
        }
        workers.addAll(nodes);
        return nodes;
    }

    /** The workers of {@code role} whose processes are still running, in the order they started. */
    List<Node> running(String role) {
        return workers.stream().filter(n -> n.role().equals(role) && n.process().isAlive()).toList();
    }

    ClusterView status() throws IOException {
        return ClusterView.of(address, clientFlags);
    }

    /** Polls status until {@code condition} holds; fails with {@code what} and the last status after {@code timeout}. */
    ClusterView awaitStatus(String what, Predicate<ClusterView> condition, Duration timeout) throws InterruptedException {
        return ClusterView.await(address, clientFlags, what, condition, timeout);
    }

    /** Stops every process still running, as Ctrl-C does, killing those that do not end in time. */
    @Override
    public void close() throws InterruptedException {
        Commands.stop(processes.stream().filter(Process::isAlive).toList());
    }

    private void startCoordinator(List<String> flags) throws Exception {
        int grpc = Commands.freePort();
        int http = Commands.freePort();
        List<String> args = new ArrayList<>(List.of("coordinator", "--hazelcast-port", String.valueOf(hazelcastPort),
                "--port", String.valueOf(grpc), "--http-port", String.valueOf(http), "--transport", "fp32"));
        args.addAll(flags);
        Commands.awaitReadyLine(launch(args));
        address = HOST + ":" + grpc;
        httpPort = http;
    }

    private Process launch(List<String> roleArgs) throws IOException {
        List<String> args = new ArrayList<>(roleArgs.subList(0, 1));
        args.addAll(common);
        args.addAll(roleArgs.subList(1, roleArgs.size()));
        Process p = Commands.start(args);
        processes.add(p);
        return p;
    }
}
