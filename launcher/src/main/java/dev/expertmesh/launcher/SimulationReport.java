package dev.expertmesh.launcher;

import dev.expertmesh.placement.ExpertLoads;
import dev.expertmesh.simulation.LayerOutcome;
import dev.expertmesh.simulation.PolicyOutcome;
import dev.expertmesh.simulation.SimulatedCluster;
import dev.expertmesh.simulation.WorkerMemory;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code balance simulate} found, as it is printed and as its JSON line and HTML report carry it.
 *
 * @param source      where the trace came from, for a person
 * @param routed      the trace's tokens per (layer, expert), summed over it
 * @param moeLayers   the MoE layers, ascending
 * @param windowSteps steps per replayed window, 0 for the whole trace as one
 * @param windows     windows replayed
 * @param baseline    contiguous placement, which every gain is over
 */
record SimulationReport(String source, long steps, long tokens, ExpertLoads routed, int[] moeLayers, int experts,
                        SimulatedCluster cluster, int redundant, int windowSteps, int windows, long bytesPerExpert,
                        List<PolicyOutcome> outcomes, PolicyOutcome baseline) {

    Map<String, Object> json() {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("source", source);
        json.put("steps", steps);
        json.put("tokens", tokens);
        json.put("moe_layers", moeLayers.length);
        json.put("experts", experts);
        json.put("workers", cluster.workers());
        json.put("nodes", cluster.nodes());
        json.put("redundant", redundant);
        json.put("window_steps", windowSteps);
        json.put("windows", windows);
        json.put("bytes_per_expert", bytesPerExpert);
        json.put("policies", outcomes.stream().map(this::policyJson).toList());
        return json;
    }

    /** The JSON line and the loads the heatmap draws: [MoE layer][expert]. */
    Map<String, Object> htmlData() {
        Map<String, Object> data = json();
        data.put("layers", moeLayers);
        data.put("expert_loads", Arrays.stream(moeLayers).mapToObj(routed::layer).toList());
        return data;
    }

    private Map<String, Object> policyJson(PolicyOutcome outcome) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("policy", outcome.policy());
        json.put("step_time_gain", outcome.gainOver(baseline));
        json.put("max_over_mean", outcome.maxOverMean());
        json.put("layers", outcome.layers().stream().map(SimulationReport::layerJson).toList());
        json.put("workers", outcome.workers().stream().map(SimulationReport::workerJson).toList());
        return json;
    }

    private static Map<String, Object> layerJson(LayerOutcome layer) {
        return Map.of("layer", layer.layer(), "max_over_mean", layer.maxOverMean(), "worker_loads", layer.workerLoads());
    }

    private static Map<String, Object> workerJson(WorkerMemory worker) {
        return Map.of("node_id", worker.nodeId(), "experts_hosted", worker.expertsHosted(), "memory_bytes", worker.bytes());
    }
}
