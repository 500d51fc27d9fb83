package dev.expertmesh.client.loadgen;

/**
 * A serving benchmark: how many requests, when they arrive, how long their prompts and outputs are, and
 * the windows its report splits the run into.
 *
 * @param numPrompts     requests sent
 * @param requestRate    mean requests per second of the Poisson arrivals; infinity sends them all at once
 * @param seed           seeds the prompts, their lengths and the arrival times
 * @param inputLen       mean prompt length in tokens
 * @param inputLenRange  prompt lengths are uniform in [inputLen (1 - range), inputLen (1 + range)]
 * @param outputLen      mean output length in tokens (generated past eos, so always reached)
 * @param outputLenRange output lengths are uniform in [outputLen (1 - range), outputLen (1 + range)]
 * @param maxConcurrency requests in flight at most; 0: no limit
 * @param windowSeconds  the report also splits the run into windows this long, each request in the one it ended in; 0: no windows
 */
public record BenchmarkSpec(int numPrompts, double requestRate, long seed, int inputLen, double inputLenRange, int outputLen,
                            double outputLenRange, int maxConcurrency, double windowSeconds) {
    public BenchmarkSpec {
        require(numPrompts >= 1, "num-prompts must be at least 1, got " + numPrompts);
        require(requestRate > 0, "request-rate must be positive (or inf), got " + requestRate);
        require(inputLen >= 1, "input-len must be at least 1, got " + inputLen);
        require(outputLen >= 1, "output-len must be at least 1, got " + outputLen);
        require(inputLenRange >= 0 && inputLenRange < 1, "input-len-range must be in [0, 1), got " + inputLenRange);
        require(outputLenRange >= 0 && outputLenRange < 1, "output-len-range must be in [0, 1), got " + outputLenRange);
        require(maxConcurrency >= 0, "max-concurrency must be at least 1, or 0 for no limit, got " + maxConcurrency);
        require(windowSeconds >= 0, "window must be positive, or 0 for no windows, got " + windowSeconds);
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }
}
