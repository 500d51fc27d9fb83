package dev.expertmesh.moe;

import dev.expertmesh.backend.CpuBackend;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RoutingTest {
    private final CpuBackend backend = new CpuBackend();

    @Test
    void greedyPicksTheKHighestScoresAfterTheOffset() {
        float[] scores = {5f, 0.1f, 0.5f, 0.2f, 0.9f, 0.3f};
        int[] chosen = new int[3];

        new Routing.Greedy().choose(backend, scores, 1, 5, 3, chosen);

        assertThat(chosen).containsExactly(3, 1, 4);
    }

    @Test
    void groupLimitedGreedyExcludesExpertsOfGroupsWithALowerBest() {
        // Groups of two: best scores 0.9, 0.8, 0.85, 0.05. With two groups kept, group 1 is out,
        // so its experts 2 (0.8) and 3 (0.7) lose to expert 5 (0.1) of kept group 2.
        float[] scores = {0.9f, 0.0f, 0.8f, 0.7f, 0.85f, 0.1f, 0.05f, 0.05f};
        int[] chosen = new int[3];

        new Routing.GroupLimitedGreedy(4, 2).choose(backend, scores, 0, 8, 3, chosen);

        assertThat(chosen).containsExactly(0, 4, 5);
    }

    @Test
    void groupLimitedGreedyLeavesTheScoresUntouched() {
        float[] scores = {0.9f, 0.0f, 0.8f, 0.7f};
        float[] before = scores.clone();

        new Routing.GroupLimitedGreedy(2, 1).choose(backend, scores, 0, 4, 1, new int[1]);

        assertThat(scores).containsExactly(before);
    }

    @Test
    void noAuxTcChoosesByBiasedScoreWithinGroupsWithBestTopTwoSum() {
        // Biased scores by group: {0.95, 0.05} sum 1.0; {0.6, 0.55} sum 1.15; {0.5, 0.8} sum 1.3; {0.1, 0.1}.
        // Group 0 holds the best single expert but the worst-but-one pair sum, so it is dropped; within
        // groups 1 and 2 the bias lifts expert 5 (0.3 + 0.5) above expert 2 (0.6).
        float[] scores = {0.95f, 0.05f, 0.6f, 0.55f, 0.5f, 0.3f, 0.1f, 0.1f};
        float[] bias = {0f, 0f, 0f, 0f, 0f, 0.5f, 0f, 0f};
        int[] chosen = new int[2];

        new Routing.NoAuxTc(4, 2, bias).choose(backend, scores, 0, 8, 2, chosen);

        assertThat(chosen).containsExactly(5, 2);
    }
}
