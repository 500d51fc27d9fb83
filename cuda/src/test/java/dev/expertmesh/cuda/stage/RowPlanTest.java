package dev.expertmesh.cuda.stage;

import dev.expertmesh.moe.ExpertRoutes;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class RowPlanTest {

    /** Routes of {@code tokens} rows to k distinct experts each, some slots empty, plus a shared expert. */
    private static ExpertRoutes randomRoutes(Random random, int tokens, int k, int experts) {
        int[] ids = new int[tokens * k];
        float[] weights = new float[tokens * k];
        for (int t = 0; t < tokens; t++) {
            int[] shuffled = random.ints(0, experts).distinct().limit(k).toArray();
            for (int j = 0; j < k; j++) {
                ids[t * k + j] = random.nextInt(5) == 0 ? -1 : shuffled[j];
                weights[t * k + j] = random.nextFloat();
            }
        }
        return new ExpertRoutes(tokens, k, ids, weights).plusEveryToken(experts);
    }

    @Test
    void everySlotReadsAGatheredRowOfItsOwnTokenInItsExpertsRange() {
        Random random = new Random(7);
        int experts = 16;
        ExpertRoutes routes = randomRoutes(random, 37, 4, experts);
        RowPlan plan = RowPlan.of(routes, experts + 1);

        int filled = 0;
        for (int slot = 0; slot < routes.expertIds().length; slot++) {
            int expert = routes.expertIds()[slot];
            if (expert < 0) {
                assertThat(plan.slots()[slot]).isEqualTo(-1);
                continue;
            }
            filled++;
            int row = plan.slots()[slot];
            assertThat(plan.sourceRows()[row]).isEqualTo(slot / routes.k());
            assertThat(row).isBetween(plan.firstRow(expert), plan.firstRow(expert) + plan.count(expert) - 1);
        }
        assertThat(plan.gatheredRows()).isEqualTo(filled);
        assertThat(plan.count(experts)).isEqualTo(routes.tokens());
    }

    @Test
    void eachExpertsRowsAreInTokenOrder() {
        ExpertRoutes routes = randomRoutes(new Random(11), 20, 3, 8);
        RowPlan plan = RowPlan.of(routes, 9);
        for (int e = 0; e < 9; e++) {
            for (int r = plan.firstRow(e) + 1; r < plan.firstRow(e) + plan.count(e); r++) {
                assertThat(plan.sourceRows()[r]).isGreaterThan(plan.sourceRows()[r - 1]);
            }
        }
    }
}
