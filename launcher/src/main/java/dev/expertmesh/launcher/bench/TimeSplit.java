package dev.expertmesh.launcher.bench;

import java.util.List;

/**
 * Where measured steps spent their time, in nanoseconds over all of them: the stages' computing,
 * of the experts' the part the expert workers wait on the slowest of them (imbalance), and the
 * wire, what the coordinator waits beyond its workers' computing (0 in one process).
 */
record TimeSplit(long attentionNanos, long expertNanos, long imbalanceNanos, long wireNanos) {

    /**
     * One call of the coordinator's (of the model in one process): the computing it waited on, the
     * slowest of the workers it went to (in one process, the call itself), and of that what the
     * slowest worker computed beyond the mean of all {@code expertWorkers}.
     */
    record CallShare(StageCall call, long computeNanos, long imbalanceNanos) {
        long wireNanos() {
            return call.nanos() - computeNanos;
        }
    }

    /** The model's stage calls in one process, all computing. */
    static List<CallShare> inProcess(List<StageCall> calls) {
        return calls.stream().filter(c -> c.track().role() == Track.Role.MICRO_BATCH).map(c -> new CallShare(c, c.nanos(), 0)).toList();
    }

    /** The coordinator's stage calls, each split by the workers' calls that answered it. */
    static List<CallShare> remote(List<StageCall> calls, int expertWorkers) {
        List<StageCall> workerCalls = calls.stream().filter(c -> c.track().isWorker()).toList();
        return calls.stream().filter(c -> c.track().role() == Track.Role.MICRO_BATCH).map(c -> share(c, workerCalls, expertWorkers)).toList();
    }

    private static CallShare share(StageCall call, List<StageCall> workerCalls, int expertWorkers) {
        long slowest = 0;
        long total = 0;
        for (StageCall w : workerCalls) {
            if (w.answers(call)) {
                slowest = Math.max(slowest, w.nanos());
                total += w.nanos();
            }
        }
        long imbalance = call.stage() == StageCall.Stage.EXPERTS ? slowest - total / expertWorkers : 0;
        return new CallShare(call, slowest, imbalance);
    }

    static TimeSplit of(List<CallShare> shares) {
        long attention = 0;
        long experts = 0;
        long imbalance = 0;
        long wire = 0;
        for (CallShare s : shares) {
            if (s.call().stage() == StageCall.Stage.ATTENTION) {
                attention += s.computeNanos();
            } else {
                experts += s.computeNanos();
            }
            imbalance += s.imbalanceNanos();
            wire += s.wireNanos();
        }
        return new TimeSplit(attention, experts, imbalance, wire);
    }
}
