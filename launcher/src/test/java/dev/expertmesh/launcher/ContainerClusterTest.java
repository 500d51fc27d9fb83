package dev.expertmesh.launcher;

import com.github.dockerjava.api.exception.NotFoundException;
import dev.expertmesh.Fixtures;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.client.ExpertMeshClient;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.GenerationRequest;
import dev.expertmesh.launcher.ContainerCluster.Node;
import dev.expertmesh.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.utility.DockerImageName;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The cluster as containers: a coordinator, 2 expert workers and 1 attention worker, each a container
 * of the ExpertMesh image on a network of their own, generating through the coordinator's gRPC API.
 * Every stream's tokens must equal the single-process engine's, before and through a docker pause of
 * one expert worker and a docker kill of the other, with no request failing. Needs a Docker engine
 * (DOCKER_HOST) holding the image (README, Containers); skipped, with the reason, without them.
 */
@Tag("docker")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ContainerClusterTest {
    private static final String MODEL = "tiny-v2-lite";
    private static final int STREAMS = 8;
    private static final int MAX_TOKENS = 40;
    private static final int TOKENS_BEFORE_FAULT = 4;
    private static final Duration PAUSE = Duration.ofSeconds(3);
    // Past the pause plus a step on a busy 2-core machine: the paused worker is waited for, not fenced.
    private static final int REPLY_TIMEOUT_MS = 10_000;
    private static final Duration PHASE = Duration.ofSeconds(120);
    private static final Duration SETTLE = Duration.ofSeconds(60);

    private final List<int[]> prompts = IntStream.range(0, STREAMS).mapToObj(ClusterFaultsTest::prompt).toList();
    private List<List<Integer>> reference;
    private ContainerCluster cluster;
    private ExpertMeshClient client;
    private boolean startAttempted;

    @FunctionalInterface
    private interface Fault {
        void inject() throws Exception;
    }

    /**
     * Skips each test, with the reason, without an engine or the image (a skip in @BeforeAll would not
     * name it in the reports); starts the cluster on the first.
     */
    @BeforeEach
    void startTheClusterOfContainersOnce() throws Exception {
        DockerImageName image = DockerImageName.parse(System.getProperty("expertmesh.image", "expertmesh:0.1.0"));
        assumeTrue(DockerClientFactory.instance().isDockerAvailable(),
                "no Docker engine reachable (DOCKER_HOST=" + System.getenv("DOCKER_HOST") + "): start one with containers/docker-engine.sh");
        assumeTrue(imageIsLocal(image), "the image " + image + " is not in the Docker engine: build and load it (README, Containers)");
        if (startAttempted) {
            assertThat(cluster).as("the cluster of containers, which did not start in the first test").isNotNull();
            return;
        }
        startAttempted = true;
        try (Engine alone = Engine.load(Fixtures.model(MODEL), new CpuBackend())) {
            reference = prompts.stream().map(p -> alone.generate(new GenerationRequest(p, SamplingParams.GREEDY, MAX_TOKENS, Set.of(), true,
                    OptionalInt.empty()))).map(g -> Arrays.stream(g.tokenIds()).boxed().toList()).toList();
        }
        // Each of tiny-v2-lite's 16 routed experts gets a replica: on 2 expert workers, each hosts them all.
        cluster = ContainerCluster.start(image, Fixtures.model(MODEL).toAbsolutePath(),
                Map.of("redundant-experts", 16, "reply-timeout-ms", REPLY_TIMEOUT_MS), 2, 1);
        client = ExpertMeshClient.builder().address(cluster.address()).defaultDeadline(PHASE).build();
    }

    @AfterAll
    void stopTheContainers() {
        if (client != null) {
            client.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    @Order(1)
    void theContainersGenerateTheSingleProcessEnginesTokens() throws Exception {
        underLoad("no fault", () -> { });
    }

    @Test
    @Order(2)
    void anExpertWorkerPausedShortOfTheReplyDeadlineIsWaitedFor() throws Exception {
        Node paused = cluster.nodes("expert-worker").getFirst();
        String pausedId = nodeId(paused);

        underLoad("docker pause an expert worker for " + PAUSE.toSeconds() + " s", () -> cluster.pause(paused, PAUSE));

        ClusterView after = cluster.status();
        assertThat(after.routesTo(pausedId)).as("the paused worker is still routed to: %s", after.json()).isTrue();
        assertThat(after.servingExpertWorkers()).as("serving expert workers after the pause").isEqualTo(2);
    }

    @Test
    @Order(3)
    void killingAnExpertWorkerSendsItsCallsToTheOther() throws Exception {
        Node victim = cluster.nodes("expert-worker").getLast();
        String victimId = nodeId(victim);
        String survivorId = nodeId(cluster.nodes("expert-worker").getFirst());
        assertThat(cluster.status().everyExpertAlsoElsewhere(victimId)).as("every expert of the victim has a replica elsewhere").isTrue();

        underLoad("docker kill an expert worker", () -> cluster.kill(victim));

        cluster.awaitStatus("routing every expert to the survivor " + survivorId,
                v -> v.routedWorkers().equals(Set.of(survivorId)) && v.servingExpertWorkers() == 1, SETTLE);
    }

    /** Starts a stream per prompt, injects the fault once each has its first tokens, and checks every stream's tokens. */
    private void underLoad(String fault, Fault inject) throws Exception {
        GreedyStreams streams = GreedyStreams.start(client, prompts, MAX_TOKENS);
        streams.awaitEveryStreamHas(TOKENS_BEFORE_FAULT, PHASE);
        long at = System.nanoTime();
        inject.inject();
        streams.awaitFinished(PHASE, fault);
        List<List<Integer>> tokens = streams.tokens();
        for (int i = 0; i < STREAMS; i++) {
            assertThat(tokens.get(i)).as("%s: stream %d's tokens against the single-process engine's", fault, i)
                    .containsExactlyElementsOf(reference.get(i));
        }
        System.out.println(streams.recoverySince(at).describe(fault));
    }

    private String nodeId(Node node) throws Exception {
        return cluster.status().nodeIdAt(node.endpoint()).orElseThrow(() -> new AssertionError("no member listens on " + node.endpoint()));
    }

    private static boolean imageIsLocal(DockerImageName image) {
        try {
            DockerClientFactory.instance().client().inspectImageCmd(image.asCanonicalNameString()).exec();
            return true;
        } catch (NotFoundException e) {
            return false;
        }
    }
}
