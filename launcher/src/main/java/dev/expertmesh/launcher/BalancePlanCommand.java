package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.placement.Eplb;
import dev.expertmesh.placement.EplbPlan;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;

@Command(name = "plan", mixinStandardHelpOptions = true,
        description = "Plans each layer's expert replicas and the GPU of each with DeepSeek's EPLB: the hierarchical policy "
                + "(groups packed onto nodes, then replicas onto GPUs within each node) when the groups divide among the nodes, "
                + "else the global one.")
final class BalancePlanCommand implements Callable<Integer> {
    @Option(names = "--loads", required = true, paramLabel = "FILE",
            description = "A JSON file {\"weight\": [[...], ...]}: per MoE layer, each expert's load (e.g. tokens routed to it).")
    Path loads;

    @Option(names = "--replicas", required = true, paramLabel = "R",
            description = "Physical experts per layer, redundant ones included: at least the experts, a multiple of --gpus.")
    int replicas;

    @Option(names = "--groups", defaultValue = "1", paramLabel = "G",
            description = "Expert groups of group-limited routing, dividing the experts. Default: ${DEFAULT-VALUE}.")
    int groups;

    @Option(names = "--nodes", defaultValue = "1", paramLabel = "N",
            description = "Server nodes (fast links within a node). Default: ${DEFAULT-VALUE}.")
    int nodes;

    @Option(names = "--gpus", required = true, paramLabel = "M", description = "GPUs in all, a multiple of --nodes.")
    int gpus;

    @Option(names = "--format", defaultValue = "text", paramLabel = "FORMAT",
            description = "text (per layer, each GPU's experts and load), or json (one line: phy2log, log2phy, logcnt, in EPLB's shapes). "
                    + "Default: ${DEFAULT-VALUE}.")
    Output.Format format;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        float[][] weight = ExpertLoadsFile.read(loads);
        EplbPlan plan = Eplb.rebalance(weight, replicas, groups, nodes, gpus);
        PrintWriter out = spec.commandLine().getOut();
        if (format == Output.Format.json) {
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("phy2log", plan.phy2log());
            json.put("log2phy", plan.log2phy());
            json.put("logcnt", plan.logcnt());
            out.println(new ObjectMapper().writeValueAsString(json));
        } else {
            printText(weight, plan, out);
        }
        return 0;
    }

    private void printText(float[][] weight, EplbPlan plan, PrintWriter out) {
        out.println(Eplb.Policy.of(groups, nodes).name().toLowerCase() + " policy: " + weight[0].length + " experts on " + replicas
                + " replicas, " + gpus + " GPUs on " + nodes + " nodes");
        int perGpu = replicas / gpus;
        for (int layer = 0; layer < weight.length; layer++) {
            double[] gpuLoads = gpuLoads(weight[layer], plan.phy2log()[layer], plan.logcnt()[layer], perGpu);
            out.printf("%nlayer %d: max/mean GPU load %.3f%n", layer,
                    Arrays.stream(gpuLoads).max().orElseThrow() / Arrays.stream(gpuLoads).average().orElseThrow());
            out.printf("  %-5s %-5s %-14s %s%n", "GPU", "NODE", "LOAD", "EXPERTS");
            for (int gpu = 0; gpu < gpus; gpu++) {
                int[] experts = Arrays.copyOfRange(plan.phy2log()[layer], gpu * perGpu, (gpu + 1) * perGpu);
                out.printf("  %-5d %-5d %-14.0f %s%n", gpu, gpu / (gpus / nodes), gpuLoads[gpu],
                        Output.commaSeparated(experts));
            }
        }
    }

    /** Each GPU's load: its replicas', each an equal share of its expert's load. */
    private static double[] gpuLoads(float[] weight, int[] phy2log, int[] logcnt, int perGpu) {
        double[] loads = new double[phy2log.length / perGpu];
        IntStream.range(0, phy2log.length).forEach(p -> loads[p / perGpu] += (double) weight[phy2log[p]] / logcnt[phy2log[p]]);
        return loads;
    }
}
