package dev.expertmesh.coordinator.routing;

import java.nio.file.Path;
import java.util.Optional;

/**
 * What the coordinator keeps of its routing.
 *
 * @param windowSteps scheduler steps the load window covers
 * @param trace       an Arrow IPC stream file to write each step's expert counts to, if any
 */
public record RoutingOptions(int windowSteps, Optional<Path> trace) {
    /** About a minute of decode steps on a busy cluster: recent enough to follow a shift, long enough to smooth single steps. */
    public static final int DEFAULT_WINDOW_STEPS = 1000;
    public static final RoutingOptions DEFAULT = new RoutingOptions(DEFAULT_WINDOW_STEPS, Optional.empty());

    public RoutingOptions {
        if (windowSteps < 1) {
            throw new IllegalArgumentException("--routing-window-steps " + windowSteps + ": expected 1 or more steps");
        }
    }
}
