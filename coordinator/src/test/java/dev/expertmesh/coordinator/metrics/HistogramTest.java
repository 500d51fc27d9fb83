package dev.expertmesh.coordinator.metrics;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class HistogramTest {

    @Test
    void bucketsAreCumulativeAndABoundCountsInItsOwnBucket() {
        Histogram h = new Histogram(0.1, 1.0);
        h.observe(0.05);
        h.observe(0.1);
        h.observe(0.5);
        h.observe(7);
        Histogram.Snapshot s = h.snapshot();
        assertThat(s.cumulative()).containsExactly(2, 3, 4);
        assertThat(s.count()).isEqualTo(4);
        assertThat(s.sum()).isCloseTo(7.65, org.assertj.core.data.Offset.offset(1e-12));
    }
}
