package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import dev.expertmesh.coordinator.routing.RoutingOptions;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Optional;

/** The coordinator's routing window and trace, as flags (for `coordinator` also as keys of its config file). */
final class RoutingStatsOptions {
    @Option(names = "--routing-window-steps", paramLabel = "N", description = "Coordinator: scheduler steps the expert load "
            + "window of /metrics and status covers. Default: 1000.")
    Integer windowSteps;

    @Option(names = "--record-routing", paramLabel = "FILE", description = "Coordinator: write each step's tokens per (layer, "
            + "expert) to FILE as an Arrow IPC stream (columns step, unix_ms, layer, expert, tokens). Default: none.")
    Path recordRouting;

    /** Flags first, then the config file's keys of the same names, then the defaults. */
    RoutingOptions routing(JsonNode file) {
        int steps = windowSteps != null ? windowSteps : file.path("routing-window-steps").asInt(RoutingOptions.DEFAULT_WINDOW_STEPS);
        return new RoutingOptions(steps, Optional.ofNullable(ClusterOptions.path(recordRouting, file, "record-routing")));
    }
}
