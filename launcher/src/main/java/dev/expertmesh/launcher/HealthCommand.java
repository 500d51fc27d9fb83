package dev.expertmesh.launcher;

import dev.expertmesh.launcher.health.CoordinatorProbe;
import dev.expertmesh.launcher.health.HealthCheck;
import dev.expertmesh.launcher.health.WorkerProbe;
import dev.expertmesh.membership.NodeOptions;
import dev.expertmesh.proto.Role;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.Callable;

@Command(name = "health", mixinStandardHelpOptions = true,
        description = "Checks whether a node can serve, for a systemd ExecStartPost or a container HEALTHCHECK: exit 0 and one "
                + "line 'serving: ...' when it can; exit 1 and the reason on one line when it cannot or does not answer; exit 2 "
                + "for bad usage. A coordinator is asked GET /health on its HTTP port (200 only while the cluster can run a "
                + "step); a worker the Flight action 'health' on its Flight port.")
final class HealthCommand implements Callable<Integer> {
    /** Addresses a node binds to that a probe cannot connect to: it checks the node over loopback instead. */
    private static final Set<String> WILDCARDS = Set.of("0.0.0.0", "::", "[::]");

    @Parameters(index = "0", paramLabel = "ROLE", description = "coordinator, expert-worker or attention-worker.")
    String role;

    @Option(names = "--config", paramLabel = "FILE", description = "The node's YAML config file: its host, and its http-port "
            + "(coordinator) or port (worker), are checked.")
    Path config;

    @Option(names = "--host", paramLabel = "ADDRESS", description = "Address to check. Default: the config's host, or 127.0.0.1 "
            + "(also for a host of 0.0.0.0 or ::).")
    String host;

    @Option(names = "--port", paramLabel = "P", description = "Port to check: a coordinator's HTTP port, a worker's Flight port. "
            + "Default: the config's http-port (8000 unless set) for a coordinator, its port for a worker.")
    Integer port;

    @Option(names = "--timeout-ms", defaultValue = "5000", paramLabel = "MS", description = "How long the node may take to "
            + "answer. Default: ${DEFAULT-VALUE}.")
    int timeoutMs;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        if (timeoutMs < 1) {
            throw new IllegalArgumentException("--timeout-ms " + timeoutMs + ": expected a positive number of milliseconds");
        }
        Role checked = role();
        ClusterOptions options = ClusterOptions.of(config, host);
        NodeOptions node = options.node(0);
        String address = WILDCARDS.contains(node.host()) ? "127.0.0.1" : node.host();
        Duration timeout = Duration.ofMillis(timeoutMs);
        HealthCheck check = checked == Role.COORDINATOR
                ? CoordinatorProbe.check(address, port != null ? port : options.httpPort(), timeout)
                : WorkerProbe.check(checked, address, workerPort(node), options.tls(), timeout);
        (check.healthy() ? spec.commandLine().getOut() : spec.commandLine().getErr()).println(check.line());
        return check.healthy() ? 0 : 1;
    }

    private Role role() {
        return switch (role) {
            case "coordinator" -> Role.COORDINATOR;
            case "expert-worker" -> Role.EXPERT_WORKER;
            case "attention-worker" -> Role.ATTENTION_WORKER;
            default -> throw new IllegalArgumentException("ROLE '" + role + "': expected coordinator, expert-worker or attention-worker");
        };
    }

    private int workerPort(NodeOptions node) {
        int checked = port != null ? port : node.port();
        if (checked == 0) {
            throw new IllegalArgumentException(role + ": no Flight port to check: give --port P, or set port: in the worker's "
                    + "--config (without one it takes any free port, which nothing else knows)");
        }
        return checked;
    }
}
