package dev.expertmesh.placement;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The port against deepseek-ai/EPLB's own answers (eplb.py run with PyTorch, eplb/golden.json). */
class EplbTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static Stream<JsonNode> goldenCases() throws IOException {
        try (InputStream in = EplbTest.class.getResourceAsStream("/eplb/golden.json")) {
            JsonNode cases = JSON.readTree(in).get("cases");
            return IntStream.range(0, cases.size()).mapToObj(cases::get);
        }
    }

    @ParameterizedTest
    @MethodSource("goldenCases")
    void rebalanceGivesEplbsPlan(JsonNode c) throws IOException {
        int groups = c.get("num_groups").asInt();
        int nodes = c.get("num_nodes").asInt();

        EplbPlan plan = Eplb.rebalance(JSON.treeToValue(c.get("weight"), float[][].class), c.get("num_replicas").asInt(), groups, nodes,
                c.get("num_gpus").asInt());

        assertThat(Eplb.Policy.of(groups, nodes).name().toLowerCase()).isEqualTo(c.get("policy").asText());
        assertThat(plan.phy2log()).isDeepEqualTo(JSON.treeToValue(c.get("phy2log"), int[][].class));
        assertThat(plan.log2phy()).isDeepEqualTo(JSON.treeToValue(c.get("log2phy"), int[][][].class));
        assertThat(plan.logcnt()).isDeepEqualTo(JSON.treeToValue(c.get("logcnt"), int[][].class));
    }

    @Test
    void goldenCasesCoverBothPolicies() throws IOException {
        assertThat(goldenCases().map(c -> c.get("policy").asText()).distinct()).containsExactlyInAnyOrder("hierarchical", "global");
    }

    @Test
    void theHotExpertTakesTheSpareReplicasOnBothGpus() {
        EplbPlan plan = Eplb.global(new float[][]{{90, 10, 10, 10}}, 6, 2);

        assertThat(plan.logcnt()[0]).containsExactly(3, 1, 1, 1);
        // replicas weigh 30, 30, 30, 10, 10, 10: heaviest first into the lighter GPU gives 30 + 30 + 10 and 30 + 10 + 10
        assertThat(plan.phy2log()[0]).containsExactly(0, 0, 3, 0, 1, 2);
        assertThat(plan.log2phy()[0]).isDeepEqualTo(new int[][]{{0, 3, 1}, {4, -1, -1}, {5, -1, -1}, {2, -1, -1}});
    }

    @Test
    void refusesReplicasThatDoNotSplitAmongTheGpus() {
        assertThatThrownBy(() -> Eplb.rebalance(new float[][]{{1, 2, 3, 4}}, 6, 2, 1, 4))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("6 replicas do not split evenly among 4 GPUs (use a multiple of 4 replicas)");
    }

    @Test
    void refusesGroupsThatDoNotDivideTheExperts() {
        assertThatThrownBy(() -> Eplb.hierarchical(new float[][]{{1, 2, 3, 4}}, 4, 3, 1, 2))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("4 experts do not split into 3 equal groups");
    }
}
