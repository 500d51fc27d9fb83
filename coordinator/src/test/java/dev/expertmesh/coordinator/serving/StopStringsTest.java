package dev.expertmesh.coordinator.serving;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class StopStringsTest {

    @Test
    void textThatMayStartAStopStringIsHeldUntilItCannot() {
        StopStrings stops = new StopStrings(List.of("</end>"));
        assertThat(stops.add("Hello </")).isEqualTo("Hello ");
        assertThat(stops.add("b>")).isEqualTo("</b>");
        assertThat(stops.matched()).isNull();
        assertThat(stops.add("<")).isEmpty();
        assertThat(stops.flush()).isEqualTo("<");
    }

    @Test
    void aStopStringSplitAcrossPiecesCutsTheTextBeforeItAndEndsTheStream() {
        StopStrings stops = new StopStrings(List.of("STOP", "\n\n"));
        assertThat(stops.add("one ST")).isEqualTo("one ");
        assertThat(stops.add("OP two")).isEmpty();
        assertThat(stops.matched()).isEqualTo("STOP");
        assertThat(stops.add("more")).isEmpty();
        assertThat(stops.flush()).isEmpty();
    }

    @Test
    void theEarliestOfSeveralStopStringsInOnePieceWins() {
        StopStrings stops = new StopStrings(List.of("b", "a"));
        assertThat(stops.add("xxab")).isEqualTo("xx");
        assertThat(stops.matched()).isEqualTo("a");
    }

    @Test
    void withoutStopStringsEverythingPassesAtOnce() {
        StopStrings stops = new StopStrings(List.of());
        assertThat(stops.add("abc")).isEqualTo("abc");
        assertThat(stops.flush()).isEmpty();
    }
}
