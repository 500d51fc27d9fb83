package dev.expertmesh.client.loadgen;

import java.util.Optional;

/**
 * What one benchmark request measured, in seconds from when it was sent (but {@code endedAt}).
 *
 * @param ttft             to its first token
 * @param interTokenLatencies between consecutive deltas after the first
 * @param e2e              to its finish
 * @param error            why it failed; empty when it completed
 * @param endedAt          when it completed or failed, in seconds from the start of the run
 */
record RequestResult(int promptTokens, int outputTokens, double ttft, double[] interTokenLatencies, double e2e, Optional<String> error,
                     double endedAt) {
    static RequestResult completed(int promptTokens, int outputTokens, double ttft, double[] interTokenLatencies, double e2e, double endedAt) {
        return new RequestResult(promptTokens, outputTokens, ttft, interTokenLatencies, e2e, Optional.empty(), endedAt);
    }

    static RequestResult failed(int promptTokens, String error, double endedAt) {
        return new RequestResult(promptTokens, 0, 0, new double[0], 0, Optional.of(error), endedAt);
    }

    boolean succeeded() {
        return error.isEmpty();
    }

    /** Time per output token after the first; only defined for more than one token. */
    double tpot() {
        return (e2e - ttft) / (outputTokens - 1);
    }
}
