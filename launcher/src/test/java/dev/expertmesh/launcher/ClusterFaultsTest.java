package dev.expertmesh.launcher;

import dev.expertmesh.Fixtures;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.client.ExpertMeshClient;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.GenerationRequest;
import dev.expertmesh.launcher.ProcessCluster.Node;
import dev.expertmesh.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The cluster keeps serving through faults: every role a process of its own on loopback, 16
 * concurrent greedy streams, and a fault injected once every stream has its first tokens. No request
 * may fail, and every stream's tokens must equal the single-process engine's (fp32 on the wire makes
 * them exact). The replicated cluster (3 expert workers, 2 attention workers) goes through the
 * scenarios in an order that leaves it servable after each; the unreplicated one is its own cluster.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterFaultsTest {
    private static final String MODEL = "tiny-v2-lite";
    private static final int STREAMS = 16;
    private static final int MAX_TOKENS = 48;
    // A join takes a JVM start, a Hazelcast join and an expert load: streams as long as the context
    // allows (256 positions, prompts of at most 10) keep it under load on a busy 2-core machine.
    private static final int JOIN_TOKENS = 240;
    private static final int TOKENS_BEFORE_FAULT = 4;
    // Past what a step's expert call takes on a busy 2-core machine running six JVMs, so no healthy worker is fenced.
    private static final int REPLY_TIMEOUT_MS = 5000;
    // Past the reply deadline, short of Hazelcast's 10 s heartbeat timeout: the coordinator, not Hazelcast, routes around it.
    private static final Duration FREEZE = Duration.ofMillis(REPLY_TIMEOUT_MS + 3000);
    private static final Duration PHASE = Duration.ofSeconds(90);
    private static final Duration SETTLE = Duration.ofSeconds(60);
    // Each of tiny-v2-lite's 16 routed experts gets one replica.
    private static final List<String> REPLICATED = List.of("--redundant-experts", "16", "--reply-timeout-ms", String.valueOf(REPLY_TIMEOUT_MS));
    private static final List<String> UNREPLICATED = List.of("--redundant-experts", "0", "--reply-timeout-ms", String.valueOf(REPLY_TIMEOUT_MS));

    private final List<int[]> prompts = IntStream.range(0, STREAMS).mapToObj(ClusterFaultsTest::prompt).toList();
    private List<List<Integer>> reference;
    private ProcessCluster replicated;
    private ExpertMeshClient replicatedClient;

    /** A distinct prompt of 6 to 10 token ids below tiny-v2-lite's vocabulary of 1024. */
    static int[] prompt(int stream) {
        return IntStream.range(0, 6 + stream % 5).map(j -> (stream * 37 + j * 11 + 1) % 1024).toArray();
    }

    @FunctionalInterface
    private interface Fault {
        void inject(GreedyStreams streams) throws Exception;
    }

    @BeforeAll
    void computeTheFaultFreeTokens() {
        try (Engine alone = Engine.load(Fixtures.model(MODEL), new CpuBackend())) {
            reference = prompts.stream().map(p -> alone.generate(new GenerationRequest(p, SamplingParams.GREEDY, JOIN_TOKENS, Set.of(), true,
                    OptionalInt.empty()))).map(g -> Arrays.stream(g.tokenIds()).boxed().toList()).toList();
        }
    }

    @AfterAll
    void stopTheReplicatedCluster() throws InterruptedException {
        if (replicatedClient != null) {
            replicatedClient.close();
        }
        if (replicated != null) {
            replicated.close();
        }
    }

    @Test
    @Order(1)
    void killingAnUnreplicatedExpertWorkerHasTheSurvivorLoadItsExperts() throws Exception {
        try (ProcessCluster cluster = ProcessCluster.start(Fixtures.model(MODEL).toString(), UNREPLICATED, 2, 1);
             ExpertMeshClient client = client(cluster)) {
            Node victim = cluster.running("expert-worker").getFirst();
            String victimId = nodeId(cluster, victim);
            String survivorId = nodeId(cluster, cluster.running("expert-worker").getLast());
            assertThat(cluster.status().hostsAnExpertAlone(victimId)).as("without replicas, the victim hosts experts no one else does").isTrue();

            underLoad(client, "kill -9 an unreplicated expert worker", MAX_TOKENS, s -> victim.process().destroyForcibly());

            cluster.awaitStatus("routing every expert to the survivor " + survivorId,
                    v -> v.routedWorkers().equals(Set.of(survivorId)) && v.servingExpertWorkers() == 1, SETTLE);
        }
    }

    @Test
    @Order(2)
    void killingAReplicatedExpertWorkerSendsItsCallsToReplicas() throws Exception {
        ProcessCluster cluster = replicated();
        ClusterView before = cluster.status();
        Node victim = cluster.running("expert-worker").stream().filter(n -> before.nodeId(n).filter(before::everyExpertAlsoElsewhere).isPresent())
                .findFirst().orElseThrow(() -> new AssertionError("no expert worker has all its experts replicated elsewhere: " + before.json()));
        String victimId = nodeId(cluster, victim);

        underLoad(replicatedClient, "kill -9 a replicated expert worker", MAX_TOKENS, s -> victim.process().destroyForcibly());

        cluster.awaitStatus("routing to 2 expert workers, not to " + victimId,
                v -> !v.routesTo(victimId) && v.servingExpertWorkers() == 2, SETTLE);
    }

    @Test
    @Order(3)
    void anExpertWorkerJoinsUnderLoad() throws Exception {
        ProcessCluster cluster = replicated();
        int before = cluster.status().servingExpertWorkers();

        underLoad(replicatedClient, "join an expert worker", JOIN_TOKENS, streams -> {
            Node joined = cluster.startWorkers("expert-worker", 1).getFirst();
            // A join takes a JVM start, a Hazelcast join and an expert load, which may outlast the streams: waves of
            // further streams, two at a time so that one always runs while the next starts, keep the cluster under
            // load from before one status call (the join not yet routed) until after the next (routed).
            List<GreedyStreams> waves = new ArrayList<>(List.of(streams));
            long deadline = System.nanoTime() + PHASE.toNanos();
            boolean routed = false;
            while (!routed) {
                while (waves.stream().filter(GreedyStreams::anyRunning).count() < 2) {
                    waves.add(GreedyStreams.start(replicatedClient, prompts, JOIN_TOKENS));
                }
                ClusterView v = cluster.status();
                routed = v.nodeId(joined).filter(v::routesTo).isPresent() && v.servingExpertWorkers() == before + 1;
                assertThat(waves.stream().anyMatch(GreedyStreams::anyRunning)).as("streams running throughout the join").isTrue();
                if (!routed && System.nanoTime() > deadline) {
                    throw new AssertionError("not routing to the new expert worker on " + joined.endpoint() + " after " + PHASE.toSeconds() + " s: " + v.json());
                }
            }
            for (GreedyStreams wave : waves.subList(1, waves.size())) {
                wave.awaitFinished(PHASE, "a later wave of the join");
                assertFaultFree(wave.tokens(), JOIN_TOKENS, "a later wave of the join");
            }
        });
    }

    @Test
    @Order(4)
    void aWorkerFrozenPastTheReplyDeadlineIsFencedAndItsCallsResent() throws Exception {
        ProcessCluster cluster = replicated();
        Node victim = cluster.running("expert-worker").getFirst();
        String victimId = nodeId(cluster, victim);
        int before = cluster.status().servingExpertWorkers();

        underLoad(replicatedClient, "SIGSTOP an expert worker for " + FREEZE.toMillis() + " ms", MAX_TOKENS, s -> {
            signal("STOP", victim);
            Thread.sleep(FREEZE);
            signal("CONT", victim);
        });

        assertNeverRoutedAgain(cluster, victimId, Duration.ofSeconds(5));
        assertThat(cluster.status().servingExpertWorkers()).as("serving expert workers once the frozen one is fenced").isEqualTo(before - 1);
        victim.process().destroyForcibly().waitFor(20, TimeUnit.SECONDS);
    }

    @Test
    @Order(5)
    void anExpertWorkerStoppedWithSigtermDrainsThenLeaves() throws Exception {
        ProcessCluster cluster = replicated();
        Node victim = cluster.running("expert-worker").getFirst();
        String victimId = nodeId(cluster, victim);
        int before = cluster.status().servingExpertWorkers();

        underLoad(replicatedClient, "SIGTERM an expert worker", MAX_TOKENS, s -> victim.process().destroy());

        assertThat(victim.process().waitFor(SETTLE.toSeconds(), TimeUnit.SECONDS)).as("the drained worker exits").isTrue();
        cluster.awaitStatus("routing to " + (before - 1) + " expert workers, no longer to the one that left, " + victimId,
                v -> !v.routesTo(victimId) && v.servingExpertWorkers() == before - 1, SETTLE);
    }

    @Test
    @Order(6)
    void killingOneOfTwoAttentionWorkersReprefillsItsSequencesOnTheOther() throws Exception {
        ProcessCluster cluster = replicated();
        assertThat(cluster.running("attention-worker")).hasSize(2);
        Node victim = cluster.running("attention-worker").getFirst();

        underLoad(replicatedClient, "kill -9 one of two attention workers", MAX_TOKENS, s -> victim.process().destroyForcibly());

        cluster.awaitStatus("serving with the one attention worker left", v -> v.attentionWorkers() == 1, SETTLE);
    }

    @Test
    @Order(7)
    void rebalancingOnTheLoadsRoutedFlipsToANewPlacementUnderLoad() throws Exception {
        List<String> flags = List.of("--placement", "eplb-global", "--redundant-experts", "2", "--rebalance-every-steps", "40");
        try (ProcessCluster cluster = ProcessCluster.start(Fixtures.model(MODEL).toString(), flags, 2, 1);
             ExpertMeshClient client = client(cluster)) {
            long before = cluster.status().root().get("serving_epoch").asLong();

            underLoad(client, "rebalance on demand and every 40 steps", MAX_TOKENS, streams -> {
                var response = client.rebalance();
                assertThat(response.getEpoch()).as("EPLB on the tokens routed so far, against equal loads at the start")
                        .isGreaterThan(response.getPreviousEpoch());
            });

            cluster.awaitStatus("serving a rebalanced map", v -> v.root().get("serving_epoch").asLong() > before
                    && v.root().get("epoch_flips").asLong() > 0, SETTLE);
        }
    }

    /**
     * Starts a stream per prompt, injects {@code fault} once each has its first tokens, and checks that
     * every stream finished with the fault-free tokens; prints how long the streams stalled.
     */
    private void underLoad(ExpertMeshClient client, String fault, int maxTokens, Fault inject) throws Exception {
        GreedyStreams streams = GreedyStreams.start(client, prompts, maxTokens);
        streams.awaitEveryStreamHas(TOKENS_BEFORE_FAULT, PHASE);
        long at = System.nanoTime();
        inject.inject(streams);
        streams.awaitFinished(PHASE, fault);
        assertFaultFree(streams.tokens(), maxTokens, fault);
        System.out.println(streams.recoverySince(at).describe(fault));
    }

    private void assertFaultFree(List<List<Integer>> tokens, int maxTokens, String fault) {
        for (int i = 0; i < STREAMS; i++) {
            assertThat(tokens.get(i)).as("%s: stream %d's tokens against the fault-free engine's", fault, i)
                    .containsExactlyElementsOf(reference.get(i).subList(0, maxTokens));
        }
    }

    private ProcessCluster replicated() throws Exception {
        if (replicated == null) {
            replicated = ProcessCluster.start(Fixtures.model(MODEL).toString(), REPLICATED, 3, 2);
            replicatedClient = client(replicated);
        }
        return replicated;
    }

    private static ExpertMeshClient client(ProcessCluster cluster) {
        return ExpertMeshClient.builder().address(cluster.address()).defaultDeadline(PHASE).build();
    }

    private static String nodeId(ProcessCluster cluster, Node node) throws Exception {
        return cluster.status().nodeId(node).orElseThrow(() -> new AssertionError("no member listens on " + node.endpoint()));
    }

    /** Watches status for {@code period}: the fenced worker must not be routed to, nor serve, even once it runs again. */
    private static void assertNeverRoutedAgain(ProcessCluster cluster, String nodeId, Duration period) throws Exception {
        long end = System.nanoTime() + period.toNanos();
        while (System.nanoTime() < end) {
            ClusterView view = cluster.status();
            assertThat(view.routesTo(nodeId)).as("status routes to the fenced worker %s again: %s", nodeId, view.json()).isFalse();
            assertThat(view.state(nodeId)).as("the fenced worker's state").isNotEqualTo(Optional.of("serving"));
            Thread.sleep(250);
        }
    }

    private static void signal(String name, Node node) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + name, String.valueOf(node.process().pid())).inheritIO().start();
        assertThat(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0).as("kill -%s %d", name, node.process().pid()).isTrue();
    }
}
