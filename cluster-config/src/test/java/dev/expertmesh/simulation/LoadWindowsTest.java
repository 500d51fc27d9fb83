package dev.expertmesh.simulation;

import dev.expertmesh.demo.DemoModel;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.placement.ExpertLoads;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** How a trace's rows become the windows a replay judges. */
class LoadWindowsTest {
    private static final ModelConfig DEMO = DemoModel.config();

    @Test
    void withoutWindowsTheWholeTraceIsPlacedOnItsOwnLoads() {
        LoadWindows loads = new LoadWindows(DEMO, 0);
        loads.tokens(0, 1, 3, 5);
        loads.tokens(7, 1, 3, 2);
        loads.tokens(7, 2, 0, 1);

        List<ReplayWindow> windows = loads.replayWindows();

        assertThat(windows).hasSize(1);
        assertThat(windows.getFirst().placedOn()).isSameAs(windows.getFirst().routed());
        assertThat(windows.getFirst().routed().layer(1)[3]).isEqualTo(7);
        assertThat(loads.tokens()).isEqualTo(8);
        assertThat(loads.steps()).isEqualTo(8);
    }

    @Test
    void eachWindowIsPlacedOnTheOneBeforeTheFirstOnEqualLoads() {
        LoadWindows loads = new LoadWindows(DEMO, 10);
        loads.tokens(0, 1, 3, 5);    // window 0
        loads.tokens(9, 1, 4, 1);    // window 0
        loads.tokens(25, 1, 6, 2);   // window 2: window 1 has no tokens and is left out

        List<ReplayWindow> windows = loads.replayWindows();

        assertThat(windows).hasSize(2);
        assertThat(windows.get(0).placedOn().byLayer()).isDeepEqualTo(ExpertLoads.uniform(DEMO).byLayer());
        assertThat(windows.get(0).routed().layer(1)).containsExactly(0, 0, 0, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        assertThat(windows.get(1).placedOn()).isSameAs(windows.get(0).routed());
        assertThat(windows.get(1).routed().layer(1)[6]).isEqualTo(2);
        assertThat(loads.total().layer(1)).containsExactly(0, 0, 0, 5, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }

    @Test
    void aRowOutsideTheModelNamesItselfAndTheFix() {
        LoadWindows loads = new LoadWindows(DEMO, 0);

        assertThatThrownBy(() -> loads.tokens(4, 1, 16, 1))
                .hasMessage("step 4 layer 1 expert 16: the model has 16 routed experts (give --model DIR of the model the trace was recorded on)");
        assertThatThrownBy(() -> loads.tokens(4, 0, 1, 1)).hasMessageContaining("layer 0 is not an MoE layer");
        assertThatThrownBy(() -> new LoadWindows(DEMO, 0).replayWindows()).hasMessageContaining("routes no tokens");
    }
}
