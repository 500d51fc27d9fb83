package dev.expertmesh.simulation;

import dev.expertmesh.demo.DemoModel;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.placement.ExpertLoads;
import dev.expertmesh.placement.PlacementPolicy;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Replays small enough to work out by hand, on the demo model: layer 0 dense, layers 1 to 3 of 16 routed experts. */
class PlacementReplayTest {
    private static final ModelConfig DEMO = DemoModel.config();
    private static final PlacementReplay TWO_WORKERS = new PlacementReplay(DEMO, new SimulatedCluster(2, 1).expertWorkers());

    /** Experts 0 to 3 take 100 tokens each in every MoE layer, the other twelve 1: all four hot ones in contiguous's first range. */
    private static ExpertLoads hotFirstFour() {
        return hotOn(List.of(0, 1, 2, 3));
    }

    @Test
    void contiguousRangesPutTheHotExpertsOnOneWorkerAndEplbSplitsThem() {
        List<ReplayWindow> trace = List.of(new ReplayWindow(hotFirstFour(), hotFirstFour()));

        PolicyOutcome contiguous = TWO_WORKERS.replay("contiguous", new PlacementPolicy.Contiguous(), trace);
        PolicyOutcome eplb = TWO_WORKERS.replay("eplb-global", new PlacementPolicy.EplbGlobal(0), trace);

        // Contiguous: worker-0 hosts experts 0-7 (4 x 100 + 4 x 1 = 404), worker-1 experts 8-15 (8); the mean is 206.
        assertThat(contiguous.layers()).extracting(LayerOutcome::layer).containsExactly(1, 2, 3);
        assertThat(contiguous.layers().getFirst().workerLoads()).containsExactly(404, 8);
        assertThat(contiguous.layers().getFirst().maxOverMean()).isCloseTo(404.0 / 206, within(1e-12));
        assertThat(contiguous.busiestTokens()).isEqualTo(3 * 404);
        // EPLB packs the heaviest first onto the lightest worker: two hot experts and six cold ones each, 206 a worker.
        assertThat(eplb.layers()).allSatisfy(layer -> assertThat(layer.workerLoads()).containsExactly(206, 206));
        assertThat(eplb.maxOverMean()).isEqualTo(1);
        assertThat(eplb.gainOver(contiguous)).isCloseTo(404.0 / 206, within(1e-12));
        assertThat(contiguous.gainOver(contiguous)).isEqualTo(1);
    }

    @Test
    void replicasSplitAnExpertsTokensEvenly() {
        List<ReplayWindow> trace = List.of(new ReplayWindow(hotFirstFour(), hotFirstFour()));

        // 16 experts and 2 redundant on 2 workers: EPLB's extra replicas go to experts 0 and 1, 50 tokens each replica;
        // the heaviest-first packing then gives each worker one whole hot expert, two halves and six cold ones.
        PolicyOutcome eplb = TWO_WORKERS.replay("eplb-global", new PlacementPolicy.EplbGlobal(2), trace);

        assertThat(eplb.layers()).allSatisfy(layer -> assertThat(layer.workerLoads()).containsExactly(206, 206));
        assertThat(eplb.workers()).extracting(WorkerMemory::expertsHosted).containsExactly(3 * 9, 3 * 9);
    }

    @Test
    void memoryIsTheRoutedExpertsHostedTimesTheirBf16Weights() {
        PolicyOutcome contiguous = TWO_WORKERS.replay("contiguous", new PlacementPolicy.Contiguous(),
                List.of(new ReplayWindow(hotFirstFour(), hotFirstFour())));

        // gate, up and down, each moe_intermediate_size 128 x hidden_size 256, in bf16
        assertThat(PlacementReplay.bytesPerRoutedExpert(DEMO)).isEqualTo(3 * 128 * 256 * 2);
        assertThat(contiguous.workers()).containsExactly(
                new WorkerMemory("worker-0", 3 * 8, 3 * 8 * 196_608L), new WorkerMemory("worker-1", 3 * 8, 3 * 8 * 196_608L));
    }

    @Test
    void aPlacementMadeOnTheWindowBeforeMissesHotExpertsThatMoved() {
        PlacementPolicy eplb = new PlacementPolicy.EplbGlobal(0);
        ExpertLoads before = hotFirstFour();
        // The hot experts move to four that were cold and that the placement on the window before put on worker-0.
        List<Integer> movedTo = eplb.place(DEMO, new SimulatedCluster(2, 1).expertWorkers(), before).expertsOf("worker-0", 1).stream()
                .filter(e -> e >= 4).limit(4).toList();
        ExpertLoads after = hotOn(movedTo);

        PolicyOutcome late = TWO_WORKERS.replay("eplb-global", eplb, List.of(new ReplayWindow(before, after)));
        PolicyOutcome onTime = TWO_WORKERS.replay("eplb-global", eplb, List.of(new ReplayWindow(after, after)));

        assertThat(late.layers().getFirst().workerLoads()).containsExactly(404, 8);
        assertThat(onTime.layers().getFirst().workerLoads()).containsExactly(206, 206);
        assertThat(onTime.gainOver(late)).isCloseTo(404.0 / 206, within(1e-12));
    }

    /** 100 tokens for each of {@code hot}, 1 for the others, in every MoE layer. */
    private static ExpertLoads hotOn(List<Integer> hot) {
        float[][] loads = new float[DEMO.numHiddenLayers()][DEMO.nRoutedExperts()];
        for (int layer = 1; layer < loads.length; layer++) {
            for (int e = 0; e < loads[layer].length; e++) {
                loads[layer][e] = hot.contains(e) ? 100 : 1;
            }
        }
        return new ExpertLoads(loads);
    }
}
