package dev.expertmesh.dataplane;

import dev.expertmesh.Fixtures;
import dev.expertmesh.attention.SequenceChunk;
import dev.expertmesh.attentionworker.AttentionWorkerNode;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.coordinator.dispatch.ExpertPeer;
import dev.expertmesh.coordinator.dispatch.RemoteAttentionStage;
import dev.expertmesh.cuda.device.Device;
import dev.expertmesh.cuda.stage.Bf16GemmBackend;
import dev.expertmesh.cuda.stage.DeviceStages;
import dev.expertmesh.engine.ComputeDevice;
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
import dev.expertmesh.placement.HostedExperts;
import dev.expertmesh.proto.AttentionCapacity;
import dev.expertmesh.proto.HiddenType;
import dev.expertmesh.proto.NodeDescriptor;
import dev.expertmesh.proto.Role;
import dev.expertmesh.sampling.SamplingParams;
import dev.expertmesh.transport.Peer;
import dev.expertmesh.transport.TransportOptions;
import dev.expertmesh.quantization.QuantizationPlan;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static dev.expertmesh.cuda.GpuComparison.LOGITS_TOLERANCE;
import static dev.expertmesh.cuda.GpuComparison.assumeAGpu;
import static dev.expertmesh.cuda.GpuComparison.decidedSteps;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A cluster whose workers run on the GPU (the coordinator on the CPU, fp32 on the wire) against
 * the CPU engine in the GPU's precision, by CudaEngineTest's rules: logits within
 * {@link dev.expertmesh.cuda.GpuComparison#LOGITS_TOLERANCE}, greedy tokens identical up to the
 * first step bf16 may rightly decide otherwise; and worker nodes on the GPU announce it. Needs a CUDA device; EmulatedGpuWorkersTest runs
 * it on host stand-ins of the CUDA libraries.
 */
@Tag("gpu")
class GpuWorkersTest {
    private static final String MODEL = "tiny-v2-lite";
    private static final String[] PROMPTS = {"p0", "p1", "p2", "p3"};
    private static final String[] GREEDY_PROMPTS = {"p1", "p2"};
    private static final String HOST = "127.0.0.1";
    private static final TransportOptions FP32 = TransportOptions.DEFAULT.withHiddenType(HiddenType.FP32);

    @Test
    void gpuWorkersGiveTheCpuEnginesAnswersBeforeAndAfterASecondExpertWorkerJoins() throws Exception {
        assumeAGpu();
        Path dir = Fixtures.model(MODEL);
        try (ComputeDevice gpu = DeviceStages.open(new Device.Cuda(0));
             Cluster cluster = new Cluster(dir, gpu, QuantizationPlan.NONE);
             Engine reference = Engine.load(dir, new Bf16GemmBackend())) {
            ModelConfig config = cluster.config;
            List<Peer> attention = Cluster.peers(cluster.startAttentionWorkers("gpu-attention-", 1));
            List<ExpertPeer> alone = cluster.startExpertWorkers("gpu-experts-", 1, 1);
            try (Cluster.Coordinator coordinator = cluster.coordinator(attention, alone, 1, FP32)) {
                assertSameAnswers(reference, coordinator.engine(), "one expert worker");
                assertCacheBlocksAreReportedAndFreed(coordinator.model().attention(), config);
            }
            HostedExperts kept = HostedExperts.striped(config, 0, 2);
            List<ExpertPeer> both = List.of(cluster.reassign("gpu-experts-0", kept, 2),
                    cluster.startExpertWorker("gpu-experts-1", HostedExperts.striped(config, 1, 2), 2));
            try (Cluster.Coordinator coordinator = cluster.coordinator(attention, both, 2, FP32)) {
                assertSameAnswers(reference, coordinator.engine(), "a second expert worker joined");
            }
            // The first worker freed the experts the new map moved away: routed there, they are refused.
            HostedExperts everything = HostedExperts.striped(config, 0, 1);
            ExpertPeer stale = new ExpertPeer(both.getFirst().peer(), everything);
            try (Cluster.Coordinator coordinator = cluster.coordinator(attention, List.of(stale), 2, FP32);
                 var golden = Fixtures.golden(MODEL)) {
                assertThatThrownBy(() -> coordinator.engine().score(golden.ints("p1.input_ids"), LayerObserver.NONE))
                        .hasStackTraceContaining("is not loaded here");
            }
        }
    }

    @Test
    void workerNodesAnnounceTheGpuAndItsMemory() throws Exception {
        assumeAGpu();
        Path dir = Fixtures.model(MODEL);
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        String name = "gpu-nodes-" + port;
        MemberSettings first = new MemberSettings(name, HOST, port, List.of());
        List<String> joinAt = List.of(HOST + ":" + port);
        try (ComputeDevice gpu = DeviceStages.open(new Device.Cuda(0));
             TensorSource weights = Checkpoint.open(dir);
             ExpertWorkerNode experts = ExpertWorkerNode.start(new NodeOptions(HOST, 0, first), weights, ModelConfig.load(dir), gpu, QuantizationPlan.NONE);
             AttentionWorkerNode attention = AttentionWorkerNode.start(new NodeOptions(HOST, 0,
                     new MemberSettings(name, HOST, port + 1, joinAt)), weights, ModelConfig.load(dir), gpu, QuantizationPlan.NONE, 16, 8);
             ClusterMember observer = ClusterMember.start(new MemberSettings(name, HOST, port + 2, joinAt),
                     NodeDescriptor.newBuilder().setRole(Role.COORDINATOR).setHost(HOST).setDevice("cpu").build())) {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (observer.members().size() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(observer.members()).as("members seen").hasSize(3);
            for (Role role : List.of(Role.EXPERT_WORKER, Role.ATTENTION_WORKER)) {
                NodeDescriptor node = observer.members().stream().filter(m -> m.getRole() == role).findFirst().orElseThrow();
                assertThat(node.getDevice()).as("%s device", role).isEqualTo("cuda:0");
                assertThat(node.getWeightMemoryBytes()).as("%s memory for weights", role).isEqualTo(gpu.memoryForWeights());
            }
        }
    }

    private static void assertSameAnswers(Engine reference, Engine cluster, String when) {
        List<GenerationRequest> greedy = new ArrayList<>();
        try (var golden = Fixtures.golden(MODEL)) {
            for (String prompt : PROMPTS) {
                int[] ids = golden.ints(prompt + ".input_ids");
                assertThat(Fixtures.relativeError(cluster.score(ids, LayerObserver.NONE), reference.score(ids, LayerObserver.NONE)))
                        .as("%s: %s logits", when, prompt).isLessThan(LOGITS_TOLERANCE);
            }
            for (String prompt : GREEDY_PROMPTS) {
                greedy.add(new GenerationRequest(golden.ints(prompt + ".input_ids"), SamplingParams.GREEDY,
                        golden.ints(prompt + ".greedy_tokens").length));
            }
        }
        List<Generation> expected = reference.generate(greedy, TokenSink.NONE);
        List<Generation> actual = cluster.generate(greedy, TokenSink.NONE);
        for (int i = 0; i < greedy.size(); i++) {
            int[] tokens = expected.get(i).tokenIds();
            int decided = decidedSteps(reference, cluster, greedy.get(i).promptIds(), tokens);
            assertThat(decided).as("%s: %s greedy steps whose top-1 margin exceeds the engines' difference", when,
                    GREEDY_PROMPTS[i]).isPositive();
            assertThat(Arrays.copyOf(actual.get(i).tokenIds(), decided)).as("%s: %s greedy tokens", when, GREEDY_PROMPTS[i])
                    .containsExactly(Arrays.copyOf(tokens, decided));
        }
    }

    /** The worker's capacity counts the blocks a sequence's cache holds on the device, and gets them back on release. */
    private static void assertCacheBlocksAreReportedAndFreed(RemoteAttentionStage attention, ModelConfig config) {
        Peer worker = attention.peers().getFirst();
        AttentionCapacity before = attention.capacity(worker);
        assertThat(before.getFreeBlocks()).isEqualTo(before.getTotalBlocks()).isEqualTo(Cluster.CACHE_BLOCKS);
        int tokens = Cluster.BLOCK_TOKENS + 1;
        long sequence = 1_000;
        float[] hidden = new float[tokens * config.hiddenSize()];
        Random random = new Random(7);
        for (int i = 0; i < hidden.length; i++) {
            hidden[i] = (float) random.nextGaussian();
        }
        attention.forward(0, 0, List.of(new SequenceChunk(sequence, 0, tokens)), hidden);
        assertThat(attention.capacity(worker).getFreeBlocks()).as("free blocks while the sequence is cached")
                .isEqualTo(Cluster.CACHE_BLOCKS - 2);
        attention.release(sequence);
        assertThat(attention.capacity(worker).getFreeBlocks()).as("free blocks after release").isEqualTo(Cluster.CACHE_BLOCKS);
    }
}
