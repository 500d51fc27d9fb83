package dev.expertmesh.launcher;

import dev.expertmesh.Fixtures;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.engine.CpuDevice;
import dev.expertmesh.expertworker.ExpertWorkerNode;
import dev.expertmesh.launcher.Commands.Run;
import dev.expertmesh.membership.MemberSettings;
import dev.expertmesh.membership.NodeOptions;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.release.Release;
import dev.expertmesh.transport.TlsFiles;
import dev.expertmesh.quantization.QuantizationPlan;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * `expertmesh health` as systemd and container health checks run it, against each role of a cluster
 * of processes (whose coordinator requires an API key, from its config file), a lone expert worker
 * and closed ports: exit 0 and one "serving" line, or exit 1 and the reason.
 */
class HealthCommandTest {
    private static final String KEY = "em-cli-test-key-31c8";

    @Test
    void eachRoleOfALiveClusterIsServingUntilWhatItNeedsIsGone(@TempDir Path tmp) throws Exception {
        Path keys = Files.writeString(tmp.resolve("api-keys"), "# the test's key\n\n" + KEY + "\n");
        Path coordinatorConfig = Files.writeString(tmp.resolve("coordinator.yaml"), "api-key-file: " + keys + "\n");
        try (ProcessCluster cluster = ProcessCluster.start(Fixtures.model("tiny-v2-lite").toString(),
                List.of("--config", coordinatorConfig.toString()), List.of("--api-key-file", keys.toString()), 1, 1)) {
            Path probeConfig = Files.writeString(tmp.resolve("probe.yaml"), "host: 0.0.0.0\nhttp-port: " + cluster.httpPort() + "\n");
            Run coordinator = Commands.run("health", "coordinator", "--config", probeConfig.toString());
            assertThat(coordinator.exitCode()).as(coordinator.err()).isZero();
            assertThat(coordinator.out().strip()).as("one line, without an API key: /health stays open")
                    .matches("serving: coordinator at 127\\.0\\.0\\.1:" + cluster.httpPort() + ", shard map epoch \\d+ on 1 expert worker and 1 attention worker");

            ProcessCluster.Node expert = cluster.running("expert-worker").getFirst();
            Run expertHealth = Commands.run("health", "expert-worker", "--port", String.valueOf(expert.port()));
            assertThat(expertHealth.exitCode()).as(expertHealth.err()).isZero();
            assertThat(expertHealth.out().strip()).matches("serving: expert-worker \\S+ at " + expert.endpoint() + ", shard map epoch \\d+");
            ProcessCluster.Node attention = cluster.running("attention-worker").getFirst();
            Run attentionHealth = Commands.run("health", "attention-worker", "--host", "127.0.0.1", "--port", String.valueOf(attention.port()));
            assertThat(attentionHealth.exitCode()).as(attentionHealth.err()).isZero();
            assertThat(attentionHealth.out().strip()).matches("serving: attention-worker \\S+ at " + attention.endpoint());
            Run wrongRole = Commands.run("health", "attention-worker", "--port", String.valueOf(expert.port()));
            assertThat(wrongRole.exitCode()).isEqualTo(1);
            assertThat(wrongRole.err().strip()).isEqualTo(expert.endpoint() + " is an expert-worker, not an attention-worker");

            Run withoutKey = Commands.run("status", "--coordinator", cluster.address());
            assertThat(withoutKey.exitCode()).isEqualTo(2);
            assertThat(withoutKey.err().strip()).isEqualTo("error: coordinator " + cluster.address() + ": a valid API key is required: "
                    + "send the metadata 'authorization: Bearer KEY' with a key of the coordinator's api-key-file");
            assertThat(Commands.run("status", "--coordinator", cluster.address(), "--api-key-file", keys.toString()).exitCode()).isZero();

            attention.process().destroy();
            assertThat(attention.process().waitFor(20, TimeUnit.SECONDS)).isTrue();
            Run gone = Commands.run("health", "attention-worker", "--port", String.valueOf(attention.port()));
            assertThat(gone.exitCode()).isEqualTo(1);
            assertThat(gone.err().strip()).startsWith("nothing listens on " + attention.endpoint());
            Run lost = awaitExit(1, "coordinator", "--config", probeConfig.toString());
            assertThat(lost.err().strip()).isEqualTo("not serving: coordinator at 127.0.0.1:" + cluster.httpPort()
                    + ": the cluster is not ready: no attention worker is left");
        }
    }

    @Test
    void anExpertWorkerWithoutAShardMapIsNotServingYet() throws Exception {
        int hazelcast = Commands.freePort();
        try (TensorSource weights = Checkpoint.open(Fixtures.model("tiny-v2-lite"));
             ExpertWorkerNode worker = ExpertWorkerNode.start(new NodeOptions("127.0.0.1", 0, new MemberSettings("health-alone-" + hazelcast,
                     "127.0.0.1", hazelcast, List.of())), weights, ModelConfig.load(Fixtures.model("tiny-v2-lite")), new CpuDevice(),
                     QuantizationPlan.NONE)) {
            Run r = Commands.run("health", "expert-worker", "--port", String.valueOf(worker.port()));
            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.err().strip()).isEqualTo("not serving: expert-worker " + worker.nodeId() + " at 127.0.0.1:" + worker.port()
                    + " has loaded no shard map yet: the coordinator publishes one once it sees the worker");
        }
    }

    @Test
    void aWorkerServingMutualTlsIsAskedWithTheNodesOwnCertificate(@TempDir Path tmp) throws Exception {
        Path certs = tmp.resolve("certs");
        assertThat(Commands.run("certs", "--out", certs.toString(), "--hosts", "127.0.0.1").exitCode()).isZero();
        Path config = Files.writeString(tmp.resolve("worker.yaml"), "tls-cert: " + certs.resolve("node-127.0.0.1.pem") + "\n"
                + "tls-key: " + certs.resolve("node-127.0.0.1-key.pem") + "\n" + "tls-ca: " + certs.resolve("ca.pem") + "\n");
        int hazelcast = Commands.freePort();
        try (TensorSource weights = Checkpoint.open(Fixtures.model("tiny-v2-lite"));
             ExpertWorkerNode worker = ExpertWorkerNode.start(new NodeOptions("127.0.0.1", 0, new MemberSettings("health-tls-" + hazelcast,
                     "127.0.0.1", hazelcast, List.of())), weights, ModelConfig.load(Fixtures.model("tiny-v2-lite")), new CpuDevice(),
                     QuantizationPlan.NONE, TlsFiles.of(certs.resolve("node-127.0.0.1.pem"), certs.resolve("node-127.0.0.1-key.pem"), certs.resolve("ca.pem")))) {
            String port = String.valueOf(worker.port());
            Run withCertificate = Commands.run("health", "expert-worker", "--config", config.toString(), "--port", port);
            assertThat(withCertificate.err().strip()).as("answered over mutual TLS").isEqualTo("not serving: expert-worker " + worker.nodeId()
                    + " at 127.0.0.1:" + port + " has loaded no shard map yet: the coordinator publishes one once it sees the worker");
            Run plain = Commands.run("health", "expert-worker", "--port", port, "--timeout-ms", "3000");
            assertThat(plain.exitCode()).isEqualTo(1);
            assertThat(plain.err()).as("a plain-text probe gets no answer").doesNotContain("not serving: expert-worker");
        }
    }

    @Test
    void nothingListeningIsExitOneWithTheAddress() throws Exception {
        int closed = Commands.freePort();
        for (String role : List.of("coordinator", "expert-worker", "attention-worker")) {
            Run r = Commands.run("health", role, "--port", String.valueOf(closed), "--timeout-ms", "2000");
            assertThat(r.exitCode()).as(role).isEqualTo(1);
            assertThat(r.out()).isEmpty();
            assertThat(r.err().strip()).as(role).startsWith("nothing listens on 127.0.0.1:" + closed + " (is the " + role + " running")
                    .doesNotContain("\n");
        }
    }

    @Test
    void badUsageIsExitTwoWithTheFix(@TempDir Path tmp) throws Exception {
        Run noPort = Commands.run("health", "expert-worker");
        assertThat(noPort.exitCode()).isEqualTo(2);
        assertThat(noPort.err()).contains("expert-worker: no Flight port to check: give --port P");
        Run unknown = Commands.run("health", "router");
        assertThat(unknown.exitCode()).isEqualTo(2);
        assertThat(unknown.err()).contains("ROLE 'router': expected coordinator, expert-worker or attention-worker");
        Path empty = Files.writeString(tmp.resolve("no-keys"), "# none yet\n\n");
        Run noKeys = Commands.run("coordinator", "--model", Fixtures.model("tiny-v2-lite").toString(), "--api-key-file", empty.toString());
        assertThat(noKeys.exitCode()).isEqualTo(2);
        assertThat(noKeys.err().strip()).isEqualTo("error: " + empty + ": no API key in it: write one key a line (blank lines and "
                + "# comments are skipped), or give no api-key-file to keep the APIs open");
    }

    @Test
    void versionIsTheRelease() {
        Run r = Commands.run("--version");
        assertThat(r.exitCode()).isZero();
        assertThat(r.out().strip()).isEqualTo("ExpertMesh " + Release.version());
    }

    /** Runs `health ARGS` until it exits with {@code code}, for a change the cluster takes a moment to notice. */
    private static Run awaitExit(int code, String... args) throws InterruptedException {
        String[] command = new String[args.length + 1];
        command[0] = "health";
        System.arraycopy(args, 0, command, 1, args.length);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        Run r = Commands.run(command);
        while (r.exitCode() != code && System.nanoTime() < deadline) {
            Thread.sleep(200);
            r = Commands.run(command);
        }
        assertThat(r.exitCode()).as(r.out() + r.err()).isEqualTo(code);
        return r;
    }
}
