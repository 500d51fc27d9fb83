package dev.expertmesh.sampling;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SamplingParamsTest {

    @Test
    void rejectsNegativeTemperature() {
        assertThatThrownBy(() -> new SamplingParams(-0.1, 0, 1, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("temperature");
    }

    @Test
    void rejectsNonFiniteTemperature() {
        assertThatThrownBy(() -> new SamplingParams(Double.NaN, 0, 1, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("temperature");
        assertThatThrownBy(() -> new SamplingParams(Double.POSITIVE_INFINITY, 0, 1, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("temperature");
    }

    @Test
    void rejectsTopPOfZeroOrAboveOne() {
        assertThatThrownBy(() -> new SamplingParams(1, 0, 0, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("top-p");
        assertThatThrownBy(() -> new SamplingParams(1, 0, 1.01, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("top-p");
    }

    @Test
    void rejectsNegativeTopK() {
        assertThatThrownBy(() -> new SamplingParams(1, -1, 1, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("top-k");
    }

    @Test
    void temperatureZeroIsGreedy() {
        assertThat(new SamplingParams(0, 5, 0.5, 1L).greedy()).isTrue();
        assertThat(new SamplingParams(0.7, 0, 1, null).greedy()).isFalse();
        assertThat(SamplingParams.GREEDY.greedy()).isTrue();
    }
}
