package dev.expertmesh.dataplane;

import dev.expertmesh.Fixtures;
import dev.expertmesh.attentionworker.AttentionWorkerNode;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.coordinator.dispatch.ExpertPeer;
import dev.expertmesh.engine.CpuDevice;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.Generation;
import dev.expertmesh.engine.GenerationRequest;
import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.engine.TokenSink;
import dev.expertmesh.expertworker.ExpertWorkerNode;
import dev.expertmesh.membership.ClusterMember;
import dev.expertmesh.membership.MemberSettings;
import dev.expertmesh.membership.NodeOptions;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.Expert;
import dev.expertmesh.moe.LocalExpertStage;
import dev.expertmesh.placement.HostedExperts;
import dev.expertmesh.proto.HiddenType;
import dev.expertmesh.proto.NodeDescriptor;
import dev.expertmesh.proto.Role;
import dev.expertmesh.quantization.Quantization;
import dev.expertmesh.quantization.QuantizationPlan;
import dev.expertmesh.sampling.SamplingParams;
import dev.expertmesh.tensor.Weight;
import dev.expertmesh.tensor.WeightFormat;
import dev.expertmesh.transport.TransportOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Expert workers that store their experts as INT8 (real Flight on loopback, fp32 on the wire) give
 * the single-process engine with the same plan, before and after the experts move between them;
 * each worker quantizes only the experts it hosts, and the nodes announce their formats.
 */
class QuantizedWorkersTest {
    private static final String HOST = "127.0.0.1";
    /** As for the unquantized cluster: fp32 transport leaves only the order of sums to differ. */
    private static final double LOGITS_TOLERANCE = 1e-5;
    private static final TransportOptions FP32 = TransportOptions.DEFAULT.withHiddenType(HiddenType.FP32);
    private static final QuantizationPlan INT8_EXPERTS = QuantizationPlan.of(Quantization.INT8, false);
    private static final int WORKERS = 2;

    static Stream<String> models() {
        return Stream.of(Fixtures.MODELS);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void int8ExpertWorkersGiveTheSingleProcessEngineWithTheSamePlanBeforeAndAfterTheExpertsMove(String model) throws Exception {
        Path dir = Fixtures.model(model);
        ModelConfig config = ModelConfig.load(dir);
        try (Cluster cluster = new Cluster(dir, new CpuDevice(), INT8_EXPERTS);
             Engine reference = Engine.create(config, Checkpoint.open(dir), new CpuBackend(), model, INT8_EXPERTS)) {
            List<ExpertPeer> experts = cluster.startExpertWorkers(model + "-int8-", WORKERS, Cluster.EPOCH);
            var attention = Cluster.peers(cluster.startAttentionWorkers(model + "-attention-", 1));
            try (Cluster.Coordinator coordinator = cluster.coordinator(attention, experts, Cluster.EPOCH, FP32)) {
                assertSameAnswers(model, reference, coordinator.engine(), "epoch " + Cluster.EPOCH);
            }
            // Each worker now hosts the other's experts: all of them loaded (and quantized) after the start.
            long moved = Cluster.EPOCH + 1;
            List<ExpertPeer> swapped = new ArrayList<>();
            for (int w = 0; w < WORKERS; w++) {
                swapped.add(cluster.reassign(model + "-int8-" + w, HostedExperts.striped(config, WORKERS - 1 - w, WORKERS), moved));
            }
            try (Cluster.Coordinator coordinator = cluster.coordinator(attention, swapped, moved, FP32)) {
                assertSameAnswers(model, reference, coordinator.engine(), "epoch " + moved);
            }
        }
    }

    @Test
    void anExpertWorkerHoldsOnlyItsOwnRoutedExpertsQuantized() throws Exception {
        String model = "tiny-v2-lite";
        Path dir = Fixtures.model(model);
        ModelConfig config = ModelConfig.load(dir);
        try (Cluster cluster = new Cluster(dir, new CpuDevice(), INT8_EXPERTS)) {
            cluster.startExpertWorkers("held-", WORKERS, Cluster.EPOCH);
            for (int w = 0; w < WORKERS; w++) {
                HostedExperts hosted = HostedExperts.striped(config, w, WORKERS);
                LocalExpertStage stage = (LocalExpertStage) cluster.expertWorker("held-" + w).experts();
                long heldBytes = 0;
                int hostedCount = 0;
                for (int layer = config.firstKDenseReplace(); layer < config.numHiddenLayers(); layer++) {
                    int[] own = hosted.routed(layer);
                    hostedCount += own.length;
                    for (int id = 0; id < config.nRoutedExperts(); id++) {
                        boolean isOwn = Arrays.stream(own).anyMatch(Integer.valueOf(id)::equals);
                        assertThat(stage.expert(layer, id).isPresent()).as("worker %d, layer %d, expert %d held", w, layer, id).isEqualTo(isOwn);
                        if (isOwn) {
                            Expert expert = stage.expert(layer, id).orElseThrow();
                            assertThat(expert.gate().format()).isInstanceOf(WeightFormat.Int8PerChannel.class);
                            heldBytes += bytes(expert);
                        }
                    }
                    assertThat(stage.expert(layer, config.nRoutedExperts()).orElseThrow().up().format()).as("shared expert")
                            .isInstanceOf(WeightFormat.Int8PerChannel.class);
                }
                assertThat(stage.expert(0, 0).orElseThrow().down().format()).as("dense MLP, not asked").isEqualTo(new WeightFormat.Bf16());
                assertThat(heldBytes).as("worker %d: bytes of its routed experts", w).isEqualTo(hostedCount * int8ExpertBytes(config));
            }
        }
    }

    @Test
    void workerNodesAnnounceHowTheyStoreTheirWeights() throws Exception {
        Path dir = Fixtures.model("tiny-v2-lite");
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        String name = "quantized-nodes-" + port;
        List<String> joinAt = List.of(HOST + ":" + port);
        try (TensorSource weights = Checkpoint.open(dir);
             ExpertWorkerNode experts = ExpertWorkerNode.start(new NodeOptions(HOST, 0, new MemberSettings(name, HOST, port, List.of())),
                     weights, ModelConfig.load(dir), new CpuDevice(), INT8_EXPERTS);
             AttentionWorkerNode attention = AttentionWorkerNode.start(new NodeOptions(HOST, 0, new MemberSettings(name, HOST, port + 1, joinAt)),
                     weights, ModelConfig.load(dir), new CpuDevice(), QuantizationPlan.of(Quantization.INT8, true), 16, 8);
             ClusterMember observer = ClusterMember.start(new MemberSettings(name, HOST, port + 2, joinAt),
                     NodeDescriptor.newBuilder().setRole(Role.COORDINATOR).setHost(HOST).build())) {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (observer.members().size() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            NodeDescriptor expertNode = member(observer, Role.EXPERT_WORKER);
            assertThat(expertNode.getExpertQuantization()).isEqualTo("int8");
            assertThat(expertNode.getAttentionAndDenseQuantization()).isEqualTo("none");
            NodeDescriptor attentionNode = member(observer, Role.ATTENTION_WORKER);
            assertThat(attentionNode.getAttentionAndDenseQuantization()).isEqualTo("int8");
            assertThat(attentionNode.getExpertQuantization()).as("an attention worker loads no expert").isEmpty();
        }
    }

    private static NodeDescriptor member(ClusterMember observer, Role role) {
        return observer.members().stream().filter(m -> m.getRole() == role).findFirst().orElseThrow();
    }

    /** Bytes a matrix holds: its data and its scales. */
    private static long bytes(Expert expert) {
        return Stream.of(expert.gate(), expert.up(), expert.down()).mapToLong(QuantizedWorkersTest::bytes).sum();
    }

    private static long bytes(Weight w) {
        return w.data().byteSize() + w.format().scaleBytes();
    }

    /** A routed expert in INT8 per output channel: one byte an element, one fp32 scale a row. */
    private static long int8ExpertBytes(ModelConfig config) {
        long hidden = config.hiddenSize();
        long inter = config.moeIntermediateSize();
        return 2 * (inter * hidden + inter * Float.BYTES) + (hidden * inter + hidden * Float.BYTES);
    }

    private static void assertSameAnswers(String model, Engine reference, Engine cluster, String when) {
        List<GenerationRequest> greedy = new ArrayList<>();
        try (var golden = Fixtures.golden(model)) {
            for (int p = 0; p < 4; p++) {
                int[] ids = golden.ints("p" + p + ".input_ids");
                assertThat(Fixtures.relativeError(cluster.score(ids, LayerObserver.NONE), reference.score(ids, LayerObserver.NONE)))
                        .as("%s, %s: p%d logits", model, when, p).isLessThan(LOGITS_TOLERANCE);
            }
            for (String prompt : new String[]{"p1", "p2"}) {
                greedy.add(new GenerationRequest(golden.ints(prompt + ".input_ids"), SamplingParams.GREEDY,
                        golden.ints(prompt + ".greedy_tokens").length));
            }
        }
        List<Generation> expected = reference.generate(greedy, TokenSink.NONE);
        List<Generation> actual = cluster.generate(greedy, TokenSink.NONE);
        for (int i = 0; i < greedy.size(); i++) {
            assertThat(actual.get(i).tokenIds()).as("%s, %s: greedy tokens of prompt %d", model, when, i)
                    .containsExactly(expected.get(i).tokenIds());
        }
    }
}
