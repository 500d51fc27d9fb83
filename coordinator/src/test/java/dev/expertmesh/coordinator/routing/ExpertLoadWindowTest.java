package dev.expertmesh.coordinator.routing;

import dev.expertmesh.Fixtures;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertRoutes;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The window over the last N steps: what enters, what leaves, per logical expert and per replica. */
class ExpertLoadWindowTest {
    /** tiny-v2-lite: layers 1..3 are MoE layers of 16 routed experts. */
    private static final ModelConfig CONFIG = ModelConfig.load(Fixtures.model("tiny-v2-lite"));

    /** {@code tokens} tokens, each routed to the experts given (top-k = experts.length). */
    private static ExpertRoutes routes(int tokens, int... experts) {
        int[] ids = IntStream.range(0, tokens * experts.length).map(i -> experts[i % experts.length]).toArray();
        return new ExpertRoutes(tokens, experts.length, ids, new float[ids.length]);
    }

    @Test
    void theWindowHoldsTheLastNStepsOnly() {
        ExpertLoadWindow window = new ExpertLoadWindow(CONFIG, 2, StepSink.NONE);
        window.routed(1, routes(3, 5, 7));
        window.stepCompleted();
        window.routed(1, routes(2, 5, 9));
        window.stepCompleted();
        assertThat(window.load().tokens(1, 5)).isEqualTo(5);
        assertThat(window.load().steps()).isEqualTo(2);

        window.routed(1, routes(1, 9, 10));
        window.stepCompleted();
        ExpertLoad load = window.load();
        assertThat(load.steps()).as("capped at the capacity").isEqualTo(2);
        assertThat(load.tokens(1, 5)).as("the first step has left").isEqualTo(2);
        assertThat(load.tokens(1, 7)).isZero();
        assertThat(load.tokens(1, 9)).isEqualTo(3);
        assertThat(load.tokens(1, 10)).isEqualTo(1);
    }

    @Test
    void routesOfAStepInFlightCountOnceItCompletes() {
        ExpertLoadWindow window = new ExpertLoadWindow(CONFIG, 10, StepSink.NONE);
        window.routed(2, routes(4, 1));
        assertThat(window.load().tokens(2, 1)).isZero();
        window.stepCompleted();
        assertThat(window.load().tokens(2, 1)).isEqualTo(4);
    }

    @Test
    void replicasAndLayerBalanceByWorker() {
        ExpertLoadWindow window = new ExpertLoadWindow(CONFIG, 10, StepSink.NONE);
        int[] a = new int[16];
        int[] b = new int[16];
        a[3] = 6;
        b[3] = 2;
        b[4] = 4;
        window.answered(1, "a", a);
        window.answered(1, "b", b);
        window.stepCompleted();
        ExpertLoad load = window.load();
        assertThat(load.replicaTokens(1, 3)).containsExactlyInAnyOrderEntriesOf(Map.of("a", 6L, "b", 2L));
        assertThat(load.replicaTokens(1, 4)).containsExactlyInAnyOrderEntriesOf(Map.of("b", 4L));

        LayerBalance even = load.balance(1, List.of("a", "b"));
        assertThat(even.perWorker()).containsExactlyInAnyOrderEntriesOf(Map.of("a", 6L, "b", 6L));
        assertThat(even.balancedness()).hasValue(1.0);
        LayerBalance withIdle = load.balance(1, List.of("a", "b", "c"));
        assertThat(withIdle.perWorker()).as("a serving worker that ran nothing counts at 0").containsEntry("c", 0L);
        assertThat(withIdle.balancedness().getAsDouble()).isCloseTo(4.0 / 6, within(1e-9));
        assertThat(load.balance(2, List.of("a", "b")).balancedness()).as("a layer without tokens").isEmpty();
    }

    @Test
    void aWorkerThatRanNothingForAWholeWindowIsForgotten() {
        ExpertLoadWindow window = new ExpertLoadWindow(CONFIG, 2, StepSink.NONE);
        int[] one = new int[16];
        one[0] = 1;
        window.answered(1, "gone", one);
        window.stepCompleted();
        window.stepCompleted();
        assertThat(window.load().byWorker()).containsKey("gone");
        window.stepCompleted();
        assertThat(window.load().byWorker()).isEmpty();
    }

    @Test
    void eachCompletedStepGoesToTheSinkInOrder() {
        List<String> seen = new ArrayList<>();
        ExpertLoadWindow window = new ExpertLoadWindow(CONFIG, 1, (step, unixMillis, counts) ->
                seen.add(step + ":" + counts.total()));
        window.routed(1, routes(2, 0, 15));
        window.stepCompleted();
        window.stepCompleted();
        window.routed(3, routes(1, 15));
        window.stepCompleted();
        assertThat(seen).containsExactly("0:4", "1:0", "2:1");
    }
}
