package dev.expertmesh.serving;

import dev.expertmesh.client.ExpertMeshClient;
import dev.expertmesh.client.ExpertMeshException;
import dev.expertmesh.client.GenerationRequest;
import dev.expertmesh.engine.CpuDevice;
import dev.expertmesh.expertworker.ExpertWorkerNode;
import dev.expertmesh.membership.ClusterSecret;
import dev.expertmesh.proto.ClusterStatus;
import dev.expertmesh.proto.ExpertPlacement;
import dev.expertmesh.proto.NodeDescriptor;
import dev.expertmesh.security.TestCertificates;
import dev.expertmesh.quantization.QuantizationPlan;
import io.grpc.Status;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A whole loopback cluster secured as README tells: every node with the certificates and the
 * secret of `expertmesh certs`. It generates what the single-process engine does; a client must
 * trust the cluster's CA; a worker without the secret joins Hazelcast but is never placed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SecuredClusterTest {
    private static final String MODEL = "tiny-v2-lite";
    private static final int[] PROMPT = {0, 5, 17, 42, 7};
    private static final int MAX_TOKENS = 8;

    @TempDir
    static Path dir;

    private TestCertificates certificates;
    private LoopbackCluster cluster;

    @BeforeAll
    void startCluster() throws Exception {
        certificates = TestCertificates.make(dir.resolve("cluster"));
        cluster = LoopbackCluster.secured(MODEL, certificates.tls(), certificates.secret());
    }

    @AfterAll
    void stopCluster() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    private ExpertMeshClient client() {
        return ExpertMeshClient.builder().address(cluster.address()).trustedCa(certificates.ca()).defaultModel(MODEL)
                .defaultDeadline(Duration.ofSeconds(60)).build();
    }

    @Test
    void greedyTokensOverTlsAreTheSingleProcessEngines() {
        int[] expected = cluster.greedy(PROMPT, MAX_TOKENS).tokenIds();
        try (ExpertMeshClient client = client()) {
            var completion = client.complete(GenerationRequest.tokenIds(PROMPT).maxTokens(MAX_TOKENS).temperature(0));
            assertThat(completion.tokenIds()).containsExactlyElementsOf(Arrays.stream(expected).boxed().toList());
        }
    }

    @Test
    void aClientThatDoesNotTrustTheClustersCaIsRefused() {
        TestCertificates other = TestCertificates.make(dir.resolve("other"));
        try (ExpertMeshClient plain = ExpertMeshClient.builder().address(cluster.address()).defaultDeadline(Duration.ofSeconds(10)).build();
             ExpertMeshClient otherCa = ExpertMeshClient.builder().address(cluster.address()).trustedCa(other.ca())
                     .defaultDeadline(Duration.ofSeconds(10)).build()) {
            assertThatThrownBy(() -> plain.complete(GenerationRequest.tokenIds(PROMPT).maxTokens(1)))
                    .isInstanceOfSatisfying(ExpertMeshException.class, e -> assertThat(e.code()).isEqualTo(Status.Code.UNAVAILABLE))
                    .hasMessageStartingWith("coordinator " + cluster.address() + " closed the connection")
                    .hasMessageEndingWith("trust the cluster's CA with --tls-ca, or ExpertMeshClient.Builder.trustedCa)");
            assertThatThrownBy(() -> otherCa.complete(GenerationRequest.tokenIds(PROMPT).maxTokens(1)))
                    .isInstanceOfSatisfying(ExpertMeshException.class, e -> assertThat(e.code()).isEqualTo(Status.Code.UNAVAILABLE))
                    .hasMessageStartingWith("TLS with the coordinator at " + cluster.address() + " failed: ")
                    .hasMessageEndingWith("(is it the cluster's CA that the client trusts: --tls-ca, ExpertMeshClient.Builder.trustedCa?)");
        }
    }

    /** Also one with the secret and no TLS: the coordinator could not reach it, so it is left out as well. */
    @Test
    void workersWithoutTheSecretAreNeverPlacedWhileOneWithItIs() throws Exception {
        ClusterSecret wrong = ClusterSecret.of("test", "not this cluster's secret at all".getBytes(StandardCharsets.UTF_8));
        try (ExpertMeshClient client = client();
             ExpertWorkerNode unsigned = ExpertWorkerNode.start(cluster.joining(ClusterSecret.NONE), cluster.weights(), cluster.config(),
                     new CpuDevice(), QuantizationPlan.NONE, Optional.of(certificates.tls()));
             ExpertWorkerNode forged = ExpertWorkerNode.start(cluster.joining(wrong), cluster.weights(), cluster.config(),
                     new CpuDevice(), QuantizationPlan.NONE, Optional.of(certificates.tls()));
             ExpertWorkerNode plainText = ExpertWorkerNode.start(cluster.joining(certificates.secret()), cluster.weights(), cluster.config(),
                     new CpuDevice(), QuantizationPlan.NONE, Optional.empty())) {
            Set<String> before = placed(client.status());
            try (ExpertWorkerNode signed = ExpertWorkerNode.start(cluster.joining(certificates.secret()), cluster.weights(),
                    cluster.config(), new CpuDevice(), QuantizationPlan.NONE, Optional.of(certificates.tls()))) {
                // The new map can reach the status before the members that made it do.
                ClusterStatus status = await(client, s -> placed(s).contains(signed.nodeId()) && members(s).contains(signed.nodeId()));

                assertThat(placed(status)).as("placed after a signed worker joined").hasSize(3).containsAll(before)
                        .doesNotContain(unsigned.nodeId(), forged.nodeId(), plainText.nodeId());
                assertThat(members(status)).contains(plainText.nodeId()).doesNotContain(unsigned.nodeId(), forged.nodeId());
            }
            assertThat(before).hasSize(2).doesNotContain(unsigned.nodeId(), forged.nodeId(), plainText.nodeId());
        }
    }

    private static Set<String> placed(ClusterStatus status) {
        return status.getShardMap().getPlacementsList().stream().map(ExpertPlacement::getNodeIdsList).flatMap(ids -> ids.stream())
                .collect(Collectors.toSet());
    }

    private static Set<String> members(ClusterStatus status) {
        return status.getMembersList().stream().map(NodeDescriptor::getNodeId).collect(Collectors.toSet());
    }

    private static ClusterStatus await(ExpertMeshClient client, Predicate<ClusterStatus> condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        ClusterStatus status = client.status();
        while (!condition.test(status)) {
            assertThat(System.nanoTime()).as("within 30 s: %s", status.getMembersList()).isLessThan(deadline);
            Thread.sleep(100);
            status = client.status();
        }
        return status;
    }
}
