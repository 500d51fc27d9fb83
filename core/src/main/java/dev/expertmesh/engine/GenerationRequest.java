package dev.expertmesh.engine;

import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.sampling.SamplingParams;

import java.util.OptionalInt;
import java.util.Set;

/**
 * A prompt of token ids to continue by at most {@code maxTokens} tokens.
 *
 * @param stopTokenIds tokens that end the generation as eos does (and are returned, as eos is)
 * @param ignoreEos    keep going past the model's eos
 * @param logprobs     empty: none; n: each token's log probability and its n most likely alternatives
 */
public record GenerationRequest(int[] promptIds, SamplingParams sampling, int maxTokens, Set<Integer> stopTokenIds,
                                boolean ignoreEos, OptionalInt logprobs) {
    public GenerationRequest {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max tokens must be at least 1, got " + maxTokens);
        }
        stopTokenIds = Set.copyOf(stopTokenIds);
    }

    public GenerationRequest(int[] promptIds, SamplingParams sampling, int maxTokens) {
        this(promptIds, sampling, maxTokens, Set.of(), false, OptionalInt.empty());
    }

    /** Whether {@code token} ends this generation: one of its stop tokens, or the model's eos unless ignored. */
    public boolean isStopToken(int token, ModelConfig config) {
        return stopTokenIds.contains(token) || !ignoreEos && config.eosTokenIds().contains(token);
    }
}
