package dev.expertmesh.placement;

import dev.expertmesh.model.ModelConfig;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The policies that weigh load (EPLB's two) and memory (this project's): what each promises, on V2-Lite's shape. */
class LoadBalancingPlacementTest {
    private static final ModelConfig V2_LITE = Configs.v2Lite();
    private static final int EXPERTS = 64;

    /** Zipf-like loads: expert e carries 1 / (e + 1), in every MoE layer, hot experts first. */
    private static ExpertLoads skewed() {
        float[][] loads = new float[V2_LITE.numHiddenLayers()][EXPERTS];
        for (int layer = 0; layer < loads.length; layer++) {
            if (V2_LITE.isMoeLayer(layer)) {
                for (int e = 0; e < EXPERTS; e++) {
                    loads[layer][e] = 1000f / (e + 1);
                }
            }
        }
        return new ExpertLoads(loads);
    }

    /** The largest worker load of layer 1 over the mean, a replica carrying its expert's load over its replicas. */
    private static double imbalance(ShardMap map, ExpertLoads loads, List<ExpertWorker> workers) {
        double[] carried = new double[workers.size()];
        for (int e = 0; e < EXPERTS; e++) {
            List<String> hosts = map.workersOf(1, e);
            for (String host : hosts) {
                carried[workers.stream().map(ExpertWorker::nodeId).toList().indexOf(host)] += loads.layer(1)[e] / hosts.size();
            }
        }
        return Arrays.stream(carried).max().orElseThrow() / Arrays.stream(carried).average().orElseThrow();
    }

    private static void assertEveryExpertPlacedOnceAWorker(ShardMap map) {
        for (int layer : map.layers().keySet()) {
            for (int e = 0; e < EXPERTS; e++) {
                List<String> hosts = map.workersOf(layer, e);
                assertThat(hosts).as("layer %d expert %d", layer, e).isNotEmpty();
                assertThat(new HashSet<>(hosts)).hasSameSizeAs(hosts);
            }
        }
    }

    @Test
    void eplbGlobalBalancesASkewedLoadBetterThanContiguousRanges() {
        List<ExpertWorker> workers = Workers.named("a", "b", "c", "d");
        ExpertLoads loads = skewed();
        ShardMap contiguous = new PlacementPolicy.Contiguous(8).place(V2_LITE, workers, loads);
        ShardMap eplb = new PlacementPolicy.EplbGlobal(8).place(V2_LITE, workers, loads);

        assertEveryExpertPlacedOnceAWorker(eplb);
        // Contiguous ranges give the first worker the hottest experts.
        assertThat(imbalance(contiguous, loads, workers)).isGreaterThan(2.0);
        assertThat(imbalance(eplb, loads, workers)).isLessThan(1.1);
        // 72 replicas, 18 a worker; the hottest experts are the ones replicated.
        assertThat(eplb.workersOf(1, 0)).hasSizeGreaterThan(1);
        assertThat(eplb.workersOf(1, 63)).hasSize(1);
    }

    @Test
    void eplbGlobalIsEplbItselfWithAWorkerAGpu() {
        List<ExpertWorker> workers = Workers.named("a", "b");
        ExpertLoads loads = skewed();
        ShardMap map = new PlacementPolicy.EplbGlobal(2).place(V2_LITE, workers, loads);
        int[] phy2log = Eplb.global(new float[][]{loads.layer(1)}, 66, 2).phy2log()[0];

        for (int p = 0; p < 66; p++) {
            assertThat(map.workersOf(1, phy2log[p])).contains(workers.get(p / 33).nodeId());
        }
    }

    @Test
    void eplbHierarchicalKeepsEachMachinesWorkersTogetherAndFallsBackToGlobalWhenUneven() {
        List<ExpertWorker> twoMachines = List.of(new ExpertWorker("a", "m1", Workers.MEMORY), new ExpertWorker("b", "m2", Workers.MEMORY),
                new ExpertWorker("c", "m1", Workers.MEMORY), new ExpertWorker("d", "m2", Workers.MEMORY));
        ShardMap map = new PlacementPolicy.EplbHierarchical(0).place(V2_LITE, twoMachines, skewed());
        assertEveryExpertPlacedOnceAWorker(map);
        assertThat(map.workers()).containsExactlyInAnyOrder("a", "b", "c", "d");

        // V2-Lite has one expert group: it divides among 1 machine only, so 2 machines place as the global policy does.
        ShardMap global = new PlacementPolicy.EplbGlobal(0).place(V2_LITE, twoMachines, skewed());
        assertThat(map).isEqualTo(global);
    }

    @Test
    void memoryWeightedGivesAWorkerWithTwiceTheMemoryTwiceTheExpertsAndTheLoad() {
        List<ExpertWorker> workers = List.of(new ExpertWorker("big", "h", 2 * Workers.MEMORY), new ExpertWorker("small", "h", Workers.MEMORY));
        ExpertLoads loads = skewed();
        ShardMap map = new PlacementPolicy.MemoryWeighted(8).place(V2_LITE, workers, loads);

        assertEveryExpertPlacedOnceAWorker(map);
        assertThat(map.expertsOf("big", 1)).hasSize(48);
        assertThat(map.expertsOf("small", 1)).hasSize(24);
        double big = 0;
        double small = 0;
        for (int e = 0; e < EXPERTS; e++) {
            List<String> hosts = map.workersOf(1, e);
            big += hosts.contains("big") ? loads.layer(1)[e] / hosts.size() : 0;
            small += hosts.contains("small") ? loads.layer(1)[e] / hosts.size() : 0;
        }
        assertThat(big / small).isBetween(1.8, 2.2);
        Set<Integer> replicated = new HashSet<>(IntStream.range(0, EXPERTS).filter(e -> map.workersOf(1, e).size() == 2).boxed().toList());
        assertThat(replicated).as("the 8 hottest experts replicated").containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5, 6, 7);
    }

    @Test
    void placementIsNamedOnTheCommandLine() {
        assertThat(PlacementPolicy.named("contiguous", 2)).isEqualTo(new PlacementPolicy.Contiguous(2));
        assertThat(PlacementPolicy.named("eplb-global", 2)).isEqualTo(new PlacementPolicy.EplbGlobal(2));
        assertThat(PlacementPolicy.named("eplb-hierarchical", 0)).isEqualTo(new PlacementPolicy.EplbHierarchical(0));
        assertThat(PlacementPolicy.named("memory-weighted", 1)).isEqualTo(new PlacementPolicy.MemoryWeighted(1));
        assertThatThrownBy(() -> PlacementPolicy.named("random", 0)).hasMessageContaining("expected contiguous, eplb-global");
    }
}
