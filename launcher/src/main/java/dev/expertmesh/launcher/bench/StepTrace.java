package dev.expertmesh.launcher.bench;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Traced steps as a Chrome trace (the "traceEvents" JSON that chrome://tracing and Perfetto open):
 * a process per step, a thread per track: the coordinator (the step, its embeddings, its final norm
 * and lm_head), each micro-batch's chain of stage calls on it (with what runs between them: the
 * norm and router, the residual), the attention worker and each expert worker computing their
 * part of each call. A worker computing two calls at once gets a second lane. Times in µs from the
 * step's start.
 */
public final class StepTrace {
    private static final double NANOS_PER_MICRO = 1e3;

    /** A span: ph "X". */
    record Complete(String name, String ph, double ts, double dur, int pid, int tid, Map<String, Object> args) {
    }

    /** A process's or thread's name or place: ph "M". */
    record Metadata(String name, String ph, int pid, int tid, Map<String, Object> args) {
    }

    /** The whole file's content. */
    record Trace(List<Object> traceEvents, String displayTimeUnit) {
    }

    /** A track's spans, and the lane of it they are drawn on. */
    private record Lane(Track track, int lane) {
    }

    private StepTrace() {
    }

    public static void write(Path file, List<TracedStep> steps) throws IOException {
        try {
            new ObjectMapper().writeValue(file.toFile(), of(steps));
        } catch (IOException e) {
            throw new IOException("--trace " + file + ": cannot write: " + e.getMessage(), e);
        }
    }

    static Trace of(List<TracedStep> steps) {
        List<Object> events = new ArrayList<>();
        for (int i = 0; i < steps.size(); i++) {
            events.addAll(events(steps.get(i), i + 1));
        }
        return new Trace(events, "ms");
    }

    private static List<Object> events(TracedStep step, int pid) {
        Map<Lane, List<Span>> lanes = new TreeMap<>(Comparator.comparing((Lane l) -> l.track().role()).thenComparing(l -> l.track().index())
                .thenComparing(Lane::lane));
        lanes.put(new Lane(Track.MAIN, 0), coordinatorSpans(step));
        chains(step, lanes);
        workers(step, lanes);
        List<Object> events = new ArrayList<>();
        events.add(new Metadata("process_name", "M", pid, 0, Map.of("name", step.label())));
        events.add(new Metadata("process_sort_index", "M", pid, 0, Map.of("sort_index", pid)));
        int tid = 0;
        for (Map.Entry<Lane, List<Span>> lane : lanes.entrySet()) {
            tid++;
            Lane l = lane.getKey();
            events.add(new Metadata("thread_name", "M", pid, tid, Map.of("name", l.track().label() + (l.lane() == 0 ? "" : " (" + (l.lane() + 1) + ")"))));
            events.add(new Metadata("thread_sort_index", "M", pid, tid, Map.of("sort_index", tid)));
            for (Span s : lane.getValue()) {
                events.add(new Complete(s.name(), "X", micros(s.startNanos() - step.startNanos()), micros(s.endNanos() - s.startNanos()),
                        pid, tid, s.args()));
            }
        }
        return events;
    }

    /** A named interval of one track. */
    private record Span(String name, long startNanos, long endNanos, Map<String, Object> args) {
    }

    private static List<Span> coordinatorSpans(TracedStep step) {
        return List.of(new Span("step", step.startNanos(), step.endNanos(), Map.of()),
                new Span("embed", step.startNanos(), step.embeddedNanos(), Map.of()),
                new Span("final norm, lm_head", step.normedNanos(), step.endNanos(), Map.of()));
    }

    /** Each micro-batch's stage calls in order, and what its chain computed between two of them. */
    private static void chains(TracedStep step, Map<Lane, List<Span>> lanes) {
        List<TimeSplit.CallShare> calls = step.calls().stream().sorted(Comparator.comparingLong(s -> s.call().startNanos())).toList();
        Map<Track, StageCall> previous = new LinkedHashMap<>();
        for (TimeSplit.CallShare share : calls) {
            StageCall c = share.call();
            List<Span> spans = lanes.computeIfAbsent(new Lane(c.track(), 0), _ -> new ArrayList<>());
            StageCall before = previous.put(c.track(), c);
            if (before != null && before.endNanos() < c.startNanos()) {
                String between = c.stage() == StageCall.Stage.EXPERTS ? "norm, router L" + c.layer() : "residual L" + before.layer();
                spans.add(new Span(between, before.endNanos(), c.startNanos(), Map.of()));
            }
            Map<String, Object> args = new LinkedHashMap<>();
            args.put("rows", c.rows());
            args.put("compute ms", millis(share.computeNanos()));
            args.put("wire ms", millis(share.wireNanos()));
            if (c.stage() == StageCall.Stage.EXPERTS) {
                args.put("imbalance ms", millis(share.imbalanceNanos()));
            }
            spans.add(new Span(name(c), c.startNanos(), c.endNanos(), args));
        }
    }

    /** Each worker's calls on the first of its lanes that is free when the call starts. */
    private static void workers(TracedStep step, Map<Lane, List<Span>> lanes) {
        List<StageCall> calls = step.workerCalls().stream().sorted(Comparator.comparingLong(StageCall::startNanos)).toList();
        Map<Lane, Long> freeFrom = new LinkedHashMap<>();
        for (StageCall c : calls) {
            int lane = 0;
            while (freeFrom.getOrDefault(new Lane(c.track(), lane), Long.MIN_VALUE) > c.startNanos()) {
                lane++;
            }
            Lane l = new Lane(c.track(), lane);
            freeFrom.put(l, c.endNanos());
            Map<String, Object> args = new LinkedHashMap<>();
            args.put("rows", c.rows());
            lanes.computeIfAbsent(l, _ -> new ArrayList<>()).add(new Span(name(c), c.startNanos(), c.endNanos(), args));
        }
    }

    /** "attention L3 mb0", "experts L3 mb1"; an attention worker's call without the micro-batch, which it is not told. */
    private static String name(StageCall c) {
        String stage = (c.stage() == StageCall.Stage.ATTENTION ? "attention L" : "experts L") + c.layer();
        if (c.track().role() == Track.Role.MICRO_BATCH) {
            return stage + " mb" + c.track().index();
        }
        return c.stage() == StageCall.Stage.EXPERTS ? stage + " mb" + c.key() : stage;
    }

    private static double micros(long nanos) {
        return nanos / NANOS_PER_MICRO;
    }

    private static double millis(long nanos) {
        return Math.round(nanos / NANOS_PER_MICRO) / 1e3;
    }
}
