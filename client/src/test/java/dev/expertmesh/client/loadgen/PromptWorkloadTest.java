package dev.expertmesh.client.loadgen;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class PromptWorkloadTest {
    @Test
    void lengthsAreUniformInTheirRangeAndIdsBelowTheVocabulary() {
        BenchmarkSpec spec = new BenchmarkSpec(2000, 1, 5, 100, 0.25, 20, 0.5, 0, 0);
        List<PromptWorkload.BenchRequest> requests = PromptWorkload.requests(spec, 50, new Random(5));
        assertThat(requests).hasSize(2000);
        assertThat(requests).allSatisfy(r -> {
            assertThat(r.promptIds().length).isBetween(75, 125);
            assertThat(java.util.Arrays.stream(r.promptIds()).allMatch(id -> id >= 0 && id < 50)).isTrue();
            assertThat(r.outputLen()).isBetween(10, 30);
        });
        // Every length of the range is drawn, the ends included.
        assertThat(requests.stream().mapToInt(r -> r.promptIds().length).min().orElseThrow()).isEqualTo(75);
        assertThat(requests.stream().mapToInt(r -> r.promptIds().length).max().orElseThrow()).isEqualTo(125);
        assertThat(requests.stream().mapToInt(PromptWorkload.BenchRequest::outputLen).distinct().count()).isEqualTo(21);
        assertThat(PromptWorkload.maxLength(100, 0.25)).isEqualTo(125);
    }

    @Test
    void noRangeGivesExactlyTheMeanLength() {
        BenchmarkSpec spec = new BenchmarkSpec(50, 1, 5, 16, 0, 8, 0, 0, 0);
        assertThat(PromptWorkload.requests(spec, 1000, new Random(1))).allSatisfy(r -> {
            assertThat(r.promptIds()).hasSize(16);
            assertThat(r.outputLen()).isEqualTo(8);
        });
    }
}
