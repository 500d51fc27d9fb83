package dev.expertmesh.launcher;

import dev.expertmesh.simulation.LayerOutcome;
import dev.expertmesh.simulation.PolicyOutcome;
import dev.expertmesh.simulation.WorkerMemory;

import java.io.PrintWriter;
import java.util.Comparator;
import java.util.List;

/** {@code balance simulate}'s text: the policies side by side, then per layer, then per worker. */
final class SimulationText {
    private static final double GIB = 1L << 30;

    private SimulationText() {
    }

    static void print(SimulationReport report, PrintWriter out) {
        out.printf("%s: %d steps, %d tokens routed through %d MoE layers of %d experts%n", report.source(), report.steps(), report.tokens(),
                report.moeLayers().length, report.experts());
        out.printf("%d workers on %d node(s), %d redundant experts, %s%n", report.cluster().workers(), report.cluster().nodes(),
                report.redundant(), placedOn(report));
        out.println("max/mean: the busiest worker's tokens over the mean worker's (1 = balanced); gain: predicted step time of contiguous over the policy's");
        out.println();
        printSummary(report, out);
        out.println();
        printLayers(report.outcomes(), out);
        out.println();
        printMemory(report.outcomes(), out);
    }

    private static String placedOn(SimulationReport report) {
        return report.windowSteps() == 0
                ? "each policy placed on the whole trace's loads (the best it can know)"
                : "each policy placed again every " + report.windowSteps() + " steps on the " + report.windowSteps()
                        + " before (as live rebalancing would; the first on equal loads), " + report.windows() + " windows";
    }

    private static void printSummary(SimulationReport report, PrintWriter out) {
        out.printf("%-18s %9s %18s %8s %26s%n", "POLICY", "MAX/MEAN", "WORST LAYER", "GAIN", "MEMORY PER WORKER (MAX)");
        for (PolicyOutcome outcome : report.outcomes()) {
            LayerOutcome worst = outcome.layers().stream().max(Comparator.comparingDouble(LayerOutcome::maxOverMean)).orElseThrow();
            WorkerMemory fullest = outcome.workers().stream().max(Comparator.comparingLong(WorkerMemory::bytes)).orElseThrow();
            out.printf("%-18s %9.3f %18s %7.3fx %26s%n", outcome.policy(), outcome.maxOverMean(),
                    String.format("%.3f (layer %d)", worst.maxOverMean(), worst.layer()), outcome.gainOver(report.baseline()), memory(fullest));
        }
    }

    private static void printLayers(List<PolicyOutcome> outcomes, PrintWriter out) {
        out.printf("%-6s", "LAYER");
        outcomes.forEach(o -> out.printf(" %18s", o.policy().toUpperCase()));
        out.println("   (max/mean)");
        for (int i = 0; i < outcomes.getFirst().layers().size(); i++) {
            out.printf("%-6d", outcomes.getFirst().layers().get(i).layer());
            for (PolicyOutcome outcome : outcomes) {
                out.printf(" %18.3f", outcome.layers().get(i).maxOverMean());
            }
            out.println();
        }
    }

    private static void printMemory(List<PolicyOutcome> outcomes, PrintWriter out) {
        out.printf("%-10s", "WORKER");
        outcomes.forEach(o -> out.printf(" %26s", o.policy().toUpperCase()));
        out.println("   (routed experts hosted, over all layers)");
        for (int w = 0; w < outcomes.getFirst().workers().size(); w++) {
            out.printf("%-10s", outcomes.getFirst().workers().get(w).nodeId());
            for (PolicyOutcome outcome : outcomes) {
                out.printf(" %26s", memory(outcome.workers().get(w)));
            }
            out.println();
        }
    }

    private static String memory(WorkerMemory worker) {
        return String.format("%d experts, %.2f GiB", worker.expertsHosted(), worker.bytes() / GIB);
    }
}
