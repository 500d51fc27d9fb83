package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Network.Ipam;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.lifecycle.Startables;
import org.testcontainers.utility.DockerImageName;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;

/**
 * A coordinator and its workers, each role a container of its own from the ExpertMesh image, as a
 * deployment starts them: on a Docker network of their own, each node at its own address, its YAML
 * config and the checkpoint mounted read-only. Nothing is ever pulled: the image must be local.
 */
final class ContainerCluster implements AutoCloseable {
    static final int GRPC_PORT = CoordinatorCommand.DEFAULT_PORT;
    private static final int FLIGHT_PORT = 8815;
    private static final int HAZELCAST_PORT = 5701;
    private static final String MODEL_MOUNT = "/model";
    private static final String CONFIG_MOUNT = "/etc/expertmesh/node.yaml";
    private static final Duration START = Duration.ofSeconds(120);

    /** One role's container and the address it listens on in the cluster's network. */
    record Node(String name, String role, GenericContainer<?> container, String ip) {
        String endpoint() {
            return ip + ":" + (role.equals("coordinator") ? GRPC_PORT : FLIGHT_PORT);
        }
    }

    private final DockerImageName image;
    private final Path model;
    private final Network network;
    private final String subnet;
    private final String clusterName;
    private final List<Node> nodes = new ArrayList<>();

    private ContainerCluster(DockerImageName image, Path model, int subnetOctet) {
        this.image = image;
        this.model = model;
        // A /24 of its own, picked at random: several engines on one machine route their bridges side by side.
        this.subnet = "10.213." + subnetOctet + ".";
        this.clusterName = "expertmesh-containers-" + subnetOctet;
        this.network = Network.builder().createNetworkCmdModifier(cmd -> cmd.withIpam(new Ipam().withConfig(new Ipam.Config().withSubnet(subnet + "0/24"))))
                .build();
    }

    /**
     * Starts the coordinator (with the config keys {@code coordinatorKeys}), then the workers together,
     * and waits until the coordinator routes to every expert worker.
     */
    static ContainerCluster start(DockerImageName image, Path model, Map<String, Object> coordinatorKeys, int expertWorkers, int attentionWorkers)
            throws Exception {
        ContainerCluster cluster = new ContainerCluster(image, model, ThreadLocalRandom.current().nextInt(1, 255));
        try {
            Map<String, Object> keys = new LinkedHashMap<>(Map.of("port", GRPC_PORT, "transport", "fp32"));
            keys.putAll(coordinatorKeys);
            cluster.add("coordinator", "coordinator", keys).container().start();
            List<GenericContainer<?>> workers = new ArrayList<>();
            for (int i = 1; i <= attentionWorkers; i++) {
                workers.add(cluster.add("attention-" + i, "attention-worker", cluster.workerKeys()).container());
            }
            for (int i = 1; i <= expertWorkers; i++) {
                workers.add(cluster.add("expert-" + i, "expert-worker", cluster.workerKeys()).container());
            }
            Startables.deepStart(workers).join();
            ClusterView.awaitRouting(cluster.address(), List.of(), expertWorkers, attentionWorkers);
            return cluster;
        } catch (Exception | AssertionError e) {
            cluster.close();
            throw e;
        }
    }

    /** The coordinator's gRPC address, reached from this machine over the network's bridge. */
    String address() {
        return nodes.getFirst().endpoint();
    }

    List<Node> nodes(String role) {
        return nodes.stream().filter(n -> n.role().equals(role)).toList();
    }

    ClusterView status() throws IOException {
        return ClusterView.of(address(), List.of());
    }

    ClusterView awaitStatus(String what, Predicate<ClusterView> condition, Duration timeout) throws InterruptedException {
        return ClusterView.await(address(), List.of(), what, condition, timeout);
    }

    /** docker kill: SIGKILL to the role's JVM, as when its machine dies. */
    void kill(Node node) {
        docker().killContainerCmd(node.container().getContainerId()).exec();
    }

    /** docker pause for {@code period}, then unpause: every process in the container frozen by its cgroup. */
    void pause(Node node, Duration period) throws InterruptedException {
        String id = node.container().getContainerId();
        docker().pauseContainerCmd(id).exec();
        try {
            Thread.sleep(period);
        } finally {
            docker().unpauseContainerCmd(id).exec();
        }
    }

    /** Keeps each container's output in target/container-logs/NAME.log, then removes the containers and the network. */
    @Override
    public void close() {
        for (Node node : nodes.reversed()) {
            GenericContainer<?> c = node.container();
            if (c.getContainerId() != null) {
                try {
                    Path logs = Files.createDirectories(Path.of("target", "container-logs"));
                    Files.writeString(logs.resolve(node.name() + ".log"), c.getLogs());
                } catch (IOException | RuntimeException e) {
                    System.err.println("could not keep the logs of " + node.name() + ": " + e.getMessage());
                }
            }
            c.stop();
        }
        network.close();
    }

    private Map<String, Object> workerKeys() {
        return Map.of("port", FLIGHT_PORT, "members", List.of(nodes.getFirst().ip() + ":" + HAZELCAST_PORT));
    }

    private Node add(String name, String role, Map<String, Object> keys) throws IOException {
        String ip = subnet + (10 + nodes.size());
        Path config = writeConfig(name, ip, keys);
        GenericContainer<?> container = new GenericContainer<>(image)
                .withImagePullPolicy(ignored -> false)
                .withNetwork(network)
                .withCreateContainerCmdModifier(cmd -> cmd.withName(clusterName + "-" + name).withIpv4Address(ip))
                .withFileSystemBind(model.toString(), MODEL_MOUNT, BindMode.READ_ONLY)
                .withFileSystemBind(config.toString(), CONFIG_MOUNT, BindMode.READ_ONLY)
                .withCommand(role, "--config", CONFIG_MOUNT)
                .waitingFor(Wait.forLogMessage(".*Ctrl-C stops it.*", 1).withStartupTimeout(START));
        Node node = new Node(name, role, container, ip);
        nodes.add(node);
        return node;
    }

    /** The node's YAML config, as a deployment writes it: the keys every node has, then the role's. */
    private Path writeConfig(String name, String ip, Map<String, Object> keys) throws IOException {
        Map<String, Object> all = new LinkedHashMap<>(Map.of("model", MODEL_MOUNT, "host", ip, "cluster-name", clusterName,
                "hazelcast-port", HAZELCAST_PORT));
        all.putAll(keys);
        String yaml = new ObjectMapper(new YAMLFactory()).writeValueAsString(all);
        Path dir = Files.createDirectories(Path.of("target", "container-configs", clusterName));
        return Files.writeString(dir.resolve(name + ".yaml"), yaml).toAbsolutePath();
    }

    private static DockerClient docker() {
        return DockerClientFactory.instance().client();
    }
}
