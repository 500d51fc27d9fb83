package dev.expertmesh.coordinator.metrics;

import java.util.concurrent.atomic.LongAdder;

/** What the coordinator measures of the requests it serves: latencies and token counts. */
public final class ServingMetrics {
    /** vLLM's bounds for time to first token, in seconds. */
    private static final double[] FIRST_TOKEN_BOUNDS = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0,
            2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
    /** vLLM's bounds for time per output token, in seconds. */
    private static final double[] OUTPUT_TOKEN_BOUNDS = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0,
            2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0};

    private final Histogram timeToFirstToken = new Histogram(FIRST_TOKEN_BOUNDS);
    private final Histogram timePerOutputToken = new Histogram(OUTPUT_TOKEN_BOUNDS);
    private final LongAdder promptTokens = new LongAdder();
    private final LongAdder generatedTokens = new LongAdder();

    /** A request was accepted with {@code tokens} prompt tokens. */
    public void accepted(int tokens) {
        promptTokens.add(tokens);
    }

    /** A request's first token came {@code nanos} after it was submitted. */
    public void firstToken(long nanos) {
        generatedTokens.increment();
        timeToFirstToken.observe(nanos / 1e9);
    }

    /** A later token came {@code nanos} after the one before it. */
    public void nextToken(long nanos) {
        generatedTokens.increment();
        timePerOutputToken.observe(nanos / 1e9);
    }

    Histogram.Snapshot timeToFirstToken() {
        return timeToFirstToken.snapshot();
    }

    Histogram.Snapshot timePerOutputToken() {
        return timePerOutputToken.snapshot();
    }

    long promptTokens() {
        return promptTokens.sum();
    }

    long generatedTokens() {
        return generatedTokens.sum();
    }
}
