package dev.expertmesh.placement;

import dev.expertmesh.model.ModelConfig;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ContiguousPlacementTest {
    private static final ModelConfig V2_LITE = Configs.v2Lite();
    private static final PlacementPolicy POLICY = new PlacementPolicy.Contiguous();

    private static List<Integer> range(int from, int toExclusive) {
        return IntStream.range(from, toExclusive).boxed().toList();
    }

    @Test
    void oneWorkerHostsEveryExpertOfEveryMoeLayer() {
        ShardMap map = POLICY.place(V2_LITE, Workers.named("a"), ExpertLoads.uniform(V2_LITE));

        assertThat(map.epoch()).isEqualTo(ShardMap.UNPUBLISHED);
        assertThat(map.layers().keySet()).containsExactlyElementsOf(range(1, 27));
        for (int layer = 1; layer < 27; layer++) {
            assertThat(map.expertsOf("a", layer)).isEqualTo(range(0, 64));
        }
        assertThat(map.workersOf(26, 63)).containsExactly("a");
    }

    @Test
    void twoWorkersSplitInHalves() {
        ShardMap map = POLICY.place(V2_LITE, Workers.named("a", "b"), ExpertLoads.uniform(V2_LITE));

        for (int layer = 1; layer < 27; layer++) {
            assertThat(map.expertsOf("a", layer)).isEqualTo(range(0, 32));
            assertThat(map.expertsOf("b", layer)).isEqualTo(range(32, 64));
        }
        assertThat(map.workersOf(5, 31)).containsExactly("a");
        assertThat(map.workersOf(5, 32)).containsExactly("b");
    }

    @Test
    void threeWorkersGiveTheRemainderToTheFirst() {
        ShardMap map = POLICY.place(V2_LITE, Workers.named("a", "b", "c"), ExpertLoads.uniform(V2_LITE));

        for (int layer = 1; layer < 27; layer++) {
            assertThat(map.expertsOf("a", layer)).isEqualTo(range(0, 22));
            assertThat(map.expertsOf("b", layer)).isEqualTo(range(22, 43));
            assertThat(map.expertsOf("c", layer)).isEqualTo(range(43, 64));
        }
    }

    @Test
    void denseLayersPlaceNoRoutedExperts() {
        ShardMap map = POLICY.place(V2_LITE, Workers.named("a", "b"), ExpertLoads.uniform(V2_LITE));

        // Layer 0 is V2-Lite's dense MLP, which every expert worker holds, like the shared experts.
        assertThat(map.expertsOf("a", 0)).isEmpty();
        assertThat(map.expertsOf("b", 0)).isEmpty();
        assertThatThrownBy(() -> map.workersOf(0, 0)).hasMessageContaining("layer 0 is not an MoE layer");
        assertThatThrownBy(() -> map.workersOf(1, 64)).hasMessageContaining("expert 64 is not in 0..63");
        assertThat(map.expertsOf("stranger", 1)).isEmpty();
    }

    @Test
    void refusesAnEmptyWorkerList() {
        assertThatThrownBy(() -> POLICY.place(V2_LITE, Workers.named(), ExpertLoads.uniform(V2_LITE)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no expert workers");
    }

    @Test
    void redundantExpertsGoToTheLeastLoadedWorkersEachRangeInTurn() {
        ShardMap map = new PlacementPolicy.Contiguous(4).place(V2_LITE, Workers.named("a", "b"), ExpertLoads.uniform(V2_LITE));

        for (int layer = 1; layer < 27; layer++) {
            // The first experts of each range, alternately, replicated on the other worker.
            assertThat(map.workersOf(layer, 0)).containsExactly("a", "b");
            assertThat(map.workersOf(layer, 32)).containsExactly("b", "a");
            assertThat(map.workersOf(layer, 1)).containsExactly("a", "b");
            assertThat(map.workersOf(layer, 33)).containsExactly("b", "a");
            assertThat(map.workersOf(layer, 2)).containsExactly("a");
            assertThat(map.expertsOf("a", layer)).hasSize(34);
            assertThat(map.expertsOf("b", layer)).hasSize(34);
        }
    }

    @Test
    void replicasNeverShareAWorkerAndStopAtOnePerWorker() {
        ShardMap map = new PlacementPolicy.Contiguous(1000).place(V2_LITE, Workers.named("a", "b", "c"), ExpertLoads.uniform(V2_LITE));

        for (int expert = 0; expert < 64; expert++) {
            assertThat(map.workersOf(1, expert)).containsExactlyInAnyOrder("a", "b", "c");
        }
        ShardMap alone = new PlacementPolicy.Contiguous(8).place(V2_LITE, Workers.named("a"), ExpertLoads.uniform(V2_LITE));
        assertThat(alone.workersOf(1, 0)).containsExactly("a");
    }

    @Test
    void replicasOverThreeWorkersKeepMemoryEven() {
        ShardMap map = new PlacementPolicy.Contiguous(6).place(V2_LITE, Workers.named("a", "b", "c"), ExpertLoads.uniform(V2_LITE));

        // 22, 21, 21 experts, then each of 6 replicas to whoever has fewest: 70 as 24, 23, 23.
        assertThat(map.expertsOf("a", 1)).hasSize(24);
        assertThat(map.expertsOf("b", 1)).hasSize(23);
        assertThat(map.expertsOf("c", 1)).hasSize(23);
        assertThat(map.workersOf(1, 0)).containsExactly("a", "b");
        assertThat(map.workersOf(1, 22)).containsExactly("b", "c");
        assertThat(map.workersOf(1, 43)).containsExactly("c", "a");
        long replicated = IntStream.range(0, 64).filter(e -> map.workersOf(1, e).size() == 2).count();
        assertThat(replicated).isEqualTo(6);
        assertThatThrownBy(() -> new PlacementPolicy.Contiguous(-1)).hasMessageContaining("must not be negative");
    }
}
