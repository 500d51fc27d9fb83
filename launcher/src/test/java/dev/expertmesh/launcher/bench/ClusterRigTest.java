package dev.expertmesh.launcher.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.benchmark.DecodeBatch;
import dev.expertmesh.demo.DemoModel;
import dev.expertmesh.demo.RandomWeights;
import dev.expertmesh.engine.ComputeDevice;
import dev.expertmesh.engine.CpuDevice;
import dev.expertmesh.engine.DeepseekModel;
import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.QuantizationPlan;
import dev.expertmesh.transport.TransportOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The demo model's decode step on the local cluster rig with 2 micro-batches: its calls' split, and its timeline. */
class ClusterRigTest {
    private static final ModelConfig CONFIG = DemoModel.config();
    private static final int LAYERS = CONFIG.numHiddenLayers();

    @Test
    void eachWaitSplitsIntoTheComputingOfTheWorkersThatAnsweredItAndTheWire(@TempDir Path dir) throws Exception {
        TracedStep step = oneStep();
        assertThat(step.calls()).as("attention and experts, per layer and micro-batch").hasSize(2 * 2 * LAYERS);
        for (TimeSplit.CallShare share : step.calls()) {
            assertThat(share.computeNanos()).as("%s was answered", share.call()).isPositive();
            assertThat(share.wireNanos()).as("%s waited at least its computing", share.call()).isNotNegative();
            assertThat(share.imbalanceNanos()).isNotNegative().isLessThanOrEqualTo(share.computeNanos());
        }
        for (StageCall worker : step.workerCalls()) {
            assertThat(step.calls().stream().filter(s -> worker.answers(s.call()))).as("%s answers one call", worker).hasSize(1);
        }

        Path file = dir.resolve("step.json");
        StepTrace.write(file, List.of(step));
        JsonNode trace = new ObjectMapper().readTree(file.toFile());
        Map<Integer, String> tracks = assertChromeTrace(trace);
        assertThat(tracks.values()).contains("coordinator", "coordinator, micro-batch 0", "coordinator, micro-batch 1", "attention-0",
                "expert-0", "expert-1");
        Set<String> chainSpans = new HashSet<>();
        for (JsonNode e : trace.get("traceEvents")) {
            if (e.get("ph").asText().equals("X") && tracks.get(e.get("tid").asInt()).startsWith("coordinator, micro-batch 1")) {
                chainSpans.add(e.get("name").asText());
            }
        }
        assertThat(chainSpans).contains("attention L0 mb1", "norm, router L1", "experts L1 mb1", "residual L1", "attention L" + (LAYERS - 1) + " mb1");
    }

    /** A step of 4 sequences after one to warm up, its calls as {@code bench decode} traces them. */
    private static TracedStep oneStep() {
        try (ComputeDevice device = new CpuDevice();
             RandomWeights weights = DemoModel.weights();
             ClusterRig rig = new ClusterRig(device, weights, CONFIG, 4, TransportOptions.DEFAULT.withMicroBatches(2), QuantizationPlan.NONE)) {
            DeepseekModel model = rig.model();
            DecodeBatch batch = new DecodeBatch(4, 8, CONFIG.vocabSize());
            batch.prefill(model);
            batch.step(model, LayerObserver.NONE);
            rig.log().clear();
            StepMarks marks = new StepMarks(LayerObserver.NONE, LAYERS);
            long start = System.nanoTime();
            batch.step(model, marks);
            long end = System.nanoTime();
            List<StageCall> calls = rig.log().calls();
            batch.release(model);
            return new TracedStep("demo", start, marks.embeddedNanos(), marks.normedNanos(), end, rig.shares(calls),
                    calls.stream().filter(c -> c.track().isWorker()).toList());
        }
    }

    /**
     * Asserts chrome://tracing's rules for one process: every event named with ph, pid and tid,
     * spans ("X") with numeric ts and dur, every thread named ("M"), and within a thread spans that
     * nest or follow each other; returns the threads' names by tid.
     */
    private static Map<Integer, String> assertChromeTrace(JsonNode trace) {
        JsonNode events = trace.get("traceEvents");
        assertThat(events.isArray()).isTrue();
        Map<Integer, String> names = new HashMap<>();
        Map<Integer, List<double[]>> spans = new HashMap<>();
        boolean processNamed = false;
        for (JsonNode e : events) {
            assertThat(e.get("name").isTextual()).as("%s", e).isTrue();
            assertThat(e.get("pid").isInt() && e.get("tid").isInt()).as("%s", e).isTrue();
            String ph = e.get("ph").asText();
            assertThat(ph).isIn("X", "M");
            if (ph.equals("M") && e.get("name").asText().equals("thread_name")) {
                names.put(e.get("tid").asInt(), e.get("args").get("name").asText());
            }
            processNamed |= ph.equals("M") && e.get("name").asText().equals("process_name");
            if (ph.equals("X")) {
                assertThat(e.get("ts").isNumber() && e.get("dur").isNumber()).as("%s", e).isTrue();
                assertThat(e.get("dur").asDouble()).as("%s", e).isNotNegative();
                spans.computeIfAbsent(e.get("tid").asInt(), _ -> new ArrayList<>())
                        .add(new double[]{e.get("ts").asDouble(), e.get("ts").asDouble() + e.get("dur").asDouble()});
            }
        }
        assertThat(processNamed).isTrue();
        assertThat(names.keySet()).containsAll(spans.keySet());
        spans.forEach((tid, list) -> assertNested(names.get(tid), list));
        return names;
    }

    /** Spans are timed to the ns; ts and dur in µs may add up to a hair past their end. */
    private static final double NANO = 1e-3;

    private static void assertNested(String track, List<double[]> spans) {
        List<double[]> sorted = spans.stream().sorted(Comparator.<double[]>comparingDouble(s -> s[0]).thenComparingDouble(s -> -s[1])).toList();
        List<double[]> open = new ArrayList<>();
        for (double[] s : sorted) {
            while (!open.isEmpty() && open.getLast()[1] <= s[0] + NANO) {
                open.removeLast();
            }
            if (!open.isEmpty()) {
                assertThat(s[1]).as("a span of %s ends inside the one it starts in", track).isLessThanOrEqualTo(open.getLast()[1] + NANO);
            }
            open.add(s);
        }
    }
}
