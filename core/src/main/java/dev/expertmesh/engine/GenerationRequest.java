package dev.expertmesh.engine;

import dev.expertmesh.sampling.SamplingParams;

/** A prompt of token ids to continue by at most {@code maxTokens} tokens. */
public record GenerationRequest(int[] promptIds, SamplingParams sampling, int maxTokens) {
    public GenerationRequest {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max tokens must be at least 1, got " + maxTokens);
        }
    }
}
