package dev.expertmesh.sampling;

/**
 * How the next token is drawn from the logits. Temperature 0 is greedy; topK 0 and topP 1 switch
 * those filters off; a null seed draws from a random one.
 */
public record SamplingParams(double temperature, int topK, double topP, Long seed) {
    public static final SamplingParams GREEDY = new SamplingParams(0, 0, 1, null);

    public SamplingParams {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0 (0 is greedy), got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top-k must be >= 0 (0 keeps every token), got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        }
    }

    public boolean greedy() {
        return temperature == 0;
    }
}
