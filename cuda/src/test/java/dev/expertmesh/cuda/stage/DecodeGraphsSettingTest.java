package dev.expertmesh.cuda.stage;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** EXPERTMESH_CUDA_GRAPHS: on unless set to off, and a clear refusal of anything else. */
class DecodeGraphsSettingTest {

    @Test
    void graphsAreOnUnlessTurnedOff() {
        assertThat(CudaEngines.decodeGraphs(null)).isTrue();
        assertThat(CudaEngines.decodeGraphs("on")).isTrue();
        assertThat(CudaEngines.decodeGraphs("off")).isFalse();
    }

    @Test
    void anotherValueIsRefusedNamingTheVariable() {
        assertThatThrownBy(() -> CudaEngines.decodeGraphs("no")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("EXPERTMESH_CUDA_GRAPHS is on or off (unset: on), not 'no'");
    }
}
