package dev.expertmesh.serving;

import dev.expertmesh.client.ExpertMeshClient;
import dev.expertmesh.coordinator.PlacementOptions;
import dev.expertmesh.coordinator.routing.RoutingOptions;
import dev.expertmesh.engine.SchedulerLimits;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.placement.PlacementPolicy;
import dev.expertmesh.proto.ClusterStatus;
import dev.expertmesh.proto.ExpertPlacement;
import dev.expertmesh.proto.LayerLoad;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Routing statistics on a real loopback cluster: the window on /metrics and in status, per logical
 * expert and per replica, and the trace written at shutdown, all adding up to the tokens routed.
 */
class RoutingStatsTest {
    private static final String MODEL = "tiny-v2-lite";
    private static final int MAX_TOKENS = 5;

    @Test
    void windowStatusAndTraceAddUpToTheTokensRouted(@TempDir Path dir) throws Exception {
        Path trace = dir.resolve("routing.arrows");
        int[] prompt = {3, 17, 42, 99, 7, 250};
        long routed;
        long steps;
        ModelConfig config;
        try (LoopbackCluster cluster = new LoopbackCluster(MODEL, false, SchedulerLimits.DEFAULT, 64, PlacementOptions.of(new PlacementPolicy.Contiguous()),
                new RoutingOptions(RoutingOptions.DEFAULT_WINDOW_STEPS, Optional.of(trace)));
             HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            config = cluster.config();
            cluster.completeGreedy(http, prompt, MAX_TOKENS);

            String metrics = http.send(HttpRequest.newBuilder(URI.create("http://" + LoopbackCluster.HOST + ":"
                    + cluster.coordinator().httpPort() + "/metrics")).GET().build(), HttpResponse.BodyHandlers.ofString()).body();
            routed = sum(metrics, "expertmesh_expert_routed_tokens_total");
            // The prompt, and each generated token but the last, went to top_k experts in each MoE layer.
            assertThat(routed).isEqualTo((prompt.length + MAX_TOKENS - 1) * moeLayers(config) * config.numExpertsPerTok());
            assertThat(sum(metrics, "expertmesh_expert_load_tokens")).as("the window holds every step so far").isEqualTo(routed);
            assertThat(sum(metrics, "expertmesh_expert_replica_load_tokens")).as("each routed slot ran on one replica").isEqualTo(routed);
            assertThat(metrics).containsPattern("expertmesh_expert_replica_load_tokens\\{layer=\"1\",expert=\"\\d+\",node_id=\"[^\"]+\"} \\d+");
            assertThat(balancedness(metrics)).hasSize(moeLayers(config)).allSatisfy(b -> assertThat(b).isBetween(0.5, 1.0));
            steps = single(metrics, "expertmesh_expert_load_window_steps");
            assertThat(steps).as("a prefill step and a step per generated token but the last").isEqualTo(MAX_TOKENS);

            ClusterStatus status;
            try (ExpertMeshClient client = ExpertMeshClient.builder().address(cluster.address()).build()) {
                status = client.status();
            }
            assertThat(status.getWindowSteps()).isEqualTo(steps);
            assertThat(status.getWindowCapacity()).isEqualTo(RoutingOptions.DEFAULT_WINDOW_STEPS);
            assertThat(status.getShardMap().getPlacementsList().stream().mapToLong(ExpertPlacement::getWindowTokens).sum()).isEqualTo(routed);
            for (ExpertPlacement p : status.getShardMap().getPlacementsList()) {
                assertThat(p.getReplicaWindowTokensMap().values().stream().mapToLong(Long::longValue).sum()).isEqualTo(p.getWindowTokens());
                assertThat(p.getNodeIdsList()).containsAll(p.getReplicaWindowTokensMap().keySet());
            }
            assertThat(status.getLayerLoadsList()).hasSize(moeLayers(config));
            for (LayerLoad layer : status.getLayerLoadsList()) {
                assertThat(layer.getWorkerTokensMap()).as("both expert workers").hasSize(2);
                assertThat(layer.getWorkerTokensMap().values().stream().mapToLong(Long::longValue).sum()).isEqualTo(routed / moeLayers(config));
            }
        }
        // The cluster is closed: the trace has ended, and holds every step.
        long traced = 0;
        Set<Long> tracedSteps = new HashSet<>();
        try (RootAllocator allocator = new RootAllocator();
             ArrowStreamReader reader = new ArrowStreamReader(FileChannel.open(trace), allocator)) {
            VectorSchemaRoot root = reader.getVectorSchemaRoot();
            while (reader.loadNextBatch()) {
                for (int i = 0; i < root.getRowCount(); i++) {
                    traced += ((BigIntVector) root.getVector("tokens")).get(i);
                    tracedSteps.add(((BigIntVector) root.getVector("step")).get(i));
                    assertThat(config.isMoeLayer(((IntVector) root.getVector("layer")).get(i))).isTrue();
                    assertThat(((IntVector) root.getVector("expert")).get(i)).isBetween(0, config.nRoutedExperts() - 1);
                }
            }
        }
        assertThat(traced).isEqualTo(routed);
        assertThat(tracedSteps).hasSize((int) steps);
    }

    private static int moeLayers(ModelConfig config) {
        return (int) IntStream.range(0, config.numHiddenLayers()).filter(config::isMoeLayer).count();
    }

    /** The sum of every series of {@code name}. */
    private static long sum(String metrics, String name) {
        Matcher m = Pattern.compile("^" + name + "\\{[^}]*} (\\d+)$", Pattern.MULTILINE).matcher(metrics);
        long sum = 0;
        while (m.find()) {
            sum += Long.parseLong(m.group(1));
        }
        return sum;
    }

    private static long single(String metrics, String name) {
        Matcher m = Pattern.compile("^" + name + " (\\d+)$", Pattern.MULTILINE).matcher(metrics);
        assertThat(m.find()).as("%s in%n%s", name, metrics).isTrue();
        return Long.parseLong(m.group(1));
    }

    private static List<Double> balancedness(String metrics) {
        Matcher m = Pattern.compile("^expertmesh_expert_load_balancedness\\{layer=\"\\d+\"} (\\S+)$", Pattern.MULTILINE).matcher(metrics);
        List<Double> values = new ArrayList<>();
        while (m.find()) {
            values.add(Double.parseDouble(m.group(1)));
        }
        return values;
    }
}
