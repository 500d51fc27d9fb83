package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import dev.expertmesh.engine.SchedulerLimits;
import picocli.CommandLine.Option;

/** The coordinator scheduler's limits, as flags (for `coordinator` also as keys of its config file). */
final class SchedulerOptions {
    @Option(names = "--max-num-seqs", paramLabel = "N", description = "Coordinator: requests in the running batch at most. Default: 256.")
    Integer maxNumSeqs;

    @Option(names = "--max-num-batched-tokens", paramLabel = "N", description = "Coordinator: tokens a step runs at most, "
            + "decodes and prefill chunks together. Default: 512.")
    Integer maxNumBatchedTokens;

    @Option(names = "--max-waiting-requests", paramLabel = "N", description = "Coordinator: requests waiting at most; more "
            + "are refused (RESOURCE_EXHAUSTED, HTTP 429). Default: 1024.")
    Integer maxWaitingRequests;

    /** Flags first, then the config file's keys of the same names, then the defaults. */
    SchedulerLimits limits(JsonNode file) {
        SchedulerLimits defaults = SchedulerLimits.DEFAULT;
        return new SchedulerLimits(value(maxNumSeqs, file, "max-num-seqs", defaults.maxRunningRequests()),
                value(maxNumBatchedTokens, file, "max-num-batched-tokens", defaults.maxBatchedTokens()),
                value(maxWaitingRequests, file, "max-waiting-requests", defaults.maxWaitingRequests()));
    }

    private static int value(Integer flag, JsonNode file, String key, int fallback) {
        return flag != null ? flag : file.path(key).asInt(fallback);
    }
}
