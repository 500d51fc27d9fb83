package dev.expertmesh.launcher.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Each coordinator call split by the worker calls that answered it, on calls whose times are known. */
class TimeSplitTest {
    private static final Track MB0 = Track.microBatch(0);
    private static final Track MB1 = Track.microBatch(1);
    private static final Track ATTENTION = new Track(Track.Role.ATTENTION_WORKER, 0);
    private static final Track EXPERT0 = new Track(Track.Role.EXPERT_WORKER, 0);
    private static final Track EXPERT1 = new Track(Track.Role.EXPERT_WORKER, 1);

    private static StageCall attention(Track track, int layer, long firstSequence, long start, long end) {
        return new StageCall(track, StageCall.Stage.ATTENTION, layer, firstSequence, 1, start, end);
    }

    private static StageCall experts(Track track, int layer, int microBatch, long start, long end) {
        return new StageCall(track, StageCall.Stage.EXPERTS, layer, microBatch, 1, start, end);
    }

    @Test
    void aCallsComputingIsItsSlowestWorkerAndTheRestOfItsWaitIsWire() {
        List<StageCall> calls = List.of(
                attention(MB0, 1, 0, 0, 50), attention(ATTENTION, 1, 0, 10, 40),
                experts(MB0, 1, 0, 50, 150), experts(EXPERT0, 1, 0, 60, 110), experts(EXPERT1, 1, 0, 70, 140));
        List<TimeSplit.CallShare> shares = TimeSplit.remote(calls, 2);
        assertThat(shares).extracting(TimeSplit.CallShare::computeNanos).containsExactly(30L, 70L);
        assertThat(shares).extracting(TimeSplit.CallShare::wireNanos).containsExactly(20L, 30L);
        assertThat(shares).extracting(TimeSplit.CallShare::imbalanceNanos).as("70 against the mean of 50 and 70").containsExactly(0L, 10L);
        assertThat(TimeSplit.of(shares)).isEqualTo(new TimeSplit(30, 70, 10, 50));
    }

    @Test
    void anIdleExpertWorkerCountsInTheImbalance() {
        List<StageCall> calls = List.of(experts(MB0, 0, 0, 0, 100), experts(EXPERT1, 0, 0, 20, 80));
        TimeSplit split = TimeSplit.of(TimeSplit.remote(calls, 2));
        assertThat(split).isEqualTo(new TimeSplit(0, 60, 30, 40));
    }

    @Test
    void overlappingMicroBatchesAreMatchedByTheirKeyAndOtherStepsByTime() {
        List<StageCall> calls = List.of(
                experts(MB0, 2, 0, 0, 100), experts(MB1, 2, 1, 10, 120),
                experts(EXPERT0, 2, 1, 20, 110), experts(EXPERT0, 2, 0, 30, 60),
                attention(MB0, 2, 0, 200, 300), attention(MB1, 2, 4, 210, 320),
                attention(ATTENTION, 2, 4, 215, 305), attention(ATTENTION, 2, 0, 220, 250),
                experts(EXPERT1, 2, 0, 400, 450));
        List<TimeSplit.CallShare> shares = TimeSplit.remote(calls, 2);
        assertThat(shares).extracting(TimeSplit.CallShare::computeNanos).containsExactly(30L, 90L, 30L, 90L);
        assertThat(shares).allSatisfy(s -> assertThat(s.wireNanos()).isNotNegative());
    }

    @Test
    void inOneProcessEveryCallIsComputing() {
        List<StageCall> calls = List.of(attention(MB0, 0, 0, 0, 40), experts(MB0, 0, 0, 45, 145));
        assertThat(TimeSplit.of(TimeSplit.inProcess(calls))).isEqualTo(new TimeSplit(40, 100, 0, 0));
    }
}
