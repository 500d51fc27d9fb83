package dev.expertmesh.client.loadgen;

import java.util.Optional;

/**
 * What one benchmark request measured, in seconds from when it was sent.
 *
 * @param ttft             to its first token
 * @param interTokenLatencies between consecutive deltas after the first
 * @param e2e              to its finish
 * @param error            why it failed; empty when it completed
 */
record RequestResult(int promptTokens, int outputTokens, double ttft, double[] interTokenLatencies, double e2e, Optional<String> error) {
    static RequestResult completed(int promptTokens, int outputTokens, double ttft, double[] interTokenLatencies, double e2e) {
        return new RequestResult(promptTokens, outputTokens, ttft, interTokenLatencies, e2e, Optional.empty());
    }

    static RequestResult failed(int promptTokens, String error) {
        return new RequestResult(promptTokens, 0, 0, new double[0], 0, Optional.of(error));
    }

    boolean succeeded() {
        return error.isEmpty();
    }

    /** Time per output token after the first; only defined for more than one token. */
    double tpot() {
        return (e2e - ttft) / (outputTokens - 1);
    }
}
