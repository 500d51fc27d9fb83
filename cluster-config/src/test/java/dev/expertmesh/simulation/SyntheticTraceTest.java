package dev.expertmesh.simulation;

import dev.expertmesh.demo.DemoModel;
import dev.expertmesh.model.ModelConfig;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Zipf-skewed, drifting traces on the demo model (3 MoE layers of 16 experts, 4 per token). */
class SyntheticTraceTest {
    private static final ModelConfig DEMO = DemoModel.config();

    record Row(long step, int layer, int expert, long tokens) {
    }

    private static List<Row> rows(SyntheticTrace trace) {
        List<Row> rows = new ArrayList<>();
        trace.replay(DEMO, (step, layer, expert, tokens) -> rows.add(new Row(step, layer, expert, tokens)));
        return rows;
    }

    /** The expert with the most tokens in {@code layer} over steps [from, to). */
    private static int hottest(List<Row> rows, int layer, long from, long to) {
        long[] tokens = new long[DEMO.nRoutedExperts()];
        rows.stream().filter(r -> r.layer() == layer && r.step() >= from && r.step() < to).forEach(r -> tokens[r.expert()] += r.tokens());
        return IntStream.range(0, tokens.length).boxed().max((a, b) -> Long.compare(tokens[a], tokens[b])).orElseThrow();
    }

    @Test
    void theSameSeedGivesTheSameTraceAndAnotherSeedAnother() {
        List<Row> first = rows(SyntheticTrace.parse("zipf:1.2,drift:50", 200, 16, 7));

        assertThat(rows(SyntheticTrace.parse("zipf:1.2,drift:50", 200, 16, 7))).isEqualTo(first);
        assertThat(rows(SyntheticTrace.parse("zipf:1.2,drift:50", 200, 16, 8))).isNotEqualTo(first);
    }

    @Test
    void everyTokenTakesTheRoutersNumberOfDistinctExpertsInEveryMoeLayer() {
        List<Row> rows = rows(SyntheticTrace.parse("zipf:2", 30, 16, 1));

        assertThat(rows).extracting(Row::layer).containsOnly(1, 2, 3);
        for (int step = 0; step < 30; step++) {
            for (int layer = 1; layer <= 3; layer++) {
                int s = step;
                int l = layer;
                List<Row> cell = rows.stream().filter(r -> r.step() == s && r.layer() == l).toList();
                assertThat(cell.stream().mapToLong(Row::tokens).sum()).isEqualTo(16 * 4);
                // distinct experts per token: no expert gets more than one slot of each token
                assertThat(cell).allSatisfy(r -> assertThat(r.tokens()).isBetween(1L, 16L));
            }
        }
    }

    @Test
    void zipfSkewsTheLoadAndDriftMovesTheHotExperts() {
        List<Row> steady = rows(SyntheticTrace.parse("zipf:1.5", 400, 32, 3));
        List<Row> drifting = rows(SyntheticTrace.parse("zipf:1.5,drift:200", 400, 32, 3));

        long[] tokens = new long[DEMO.nRoutedExperts()];
        steady.stream().filter(r -> r.layer() == 1).forEach(r -> tokens[r.expert()] += r.tokens());
        long max = IntStream.range(0, tokens.length).mapToLong(e -> tokens[e]).max().orElseThrow();
        long min = IntStream.range(0, tokens.length).mapToLong(e -> tokens[e]).min().orElseThrow();
        // the hottest of 16 takes 1 of the 4 slots of nearly every token; the coldest a few percent of that
        assertThat(max).isGreaterThan(10 * min);
        for (int layer = 1; layer <= 3; layer++) {
            assertThat(hottest(steady, layer, 200, 400)).isEqualTo(hottest(steady, layer, 0, 200));
        }
        assertThat(IntStream.rangeClosed(1, 3).filter(l -> hottest(drifting, l, 200, 400) != hottest(drifting, l, 0, 200)).count())
                .isPositive();
    }

    @Test
    void aMalformedSpecSaysWhatItTakes() {
        assertThatThrownBy(() -> SyntheticTrace.parse("zipf=1", 10, 1, 1))
                .hasMessage("--synthetic zipf=1: expected zipf:S[,drift:D], e.g. zipf:1.2,drift:200");
        assertThatThrownBy(() -> SyntheticTrace.parse("drift:5", 10, 1, 1)).hasMessageContaining("expected zipf:S[,drift:D]");
        assertThatThrownBy(() -> SyntheticTrace.parse("zipf:-1", 10, 1, 1)).hasMessageContaining("a Zipf exponent of 0 or more");
    }
}
