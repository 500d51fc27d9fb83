package dev.expertmesh.coordinator.serving;

import dev.expertmesh.sampling.SamplingParams;

import java.util.List;
import java.util.OptionalInt;
import java.util.Set;

/**
 * One generation as the public APIs ask for it. Fields are checked when it is submitted, and a bad
 * one is named in an {@link InvalidRequestException}.
 *
 * @param model       the served model's name; null or empty for the one served
 * @param maxTokens   empty: until the context is full
 * @param stop        strings that end the generation; the string itself is not returned
 * @param stopTokenIds tokens that end the generation (returned), as eos does
 * @param ignoreEos   keep going past eos
 * @param logprobs    empty: none; n: each token's log probability and its n most likely alternatives
 */
public record CompletionRequest(CompletionInput input, String model, OptionalInt maxTokens, SamplingParams sampling,
                                List<String> stop, Set<Integer> stopTokenIds, boolean ignoreEos, OptionalInt logprobs) {
    public static final int MAX_LOGPROBS = 20;

    public CompletionRequest {
        stop = List.copyOf(stop);
        stopTokenIds = Set.copyOf(stopTokenIds);
    }

    /** Greedy, up to {@code maxTokens}, no stop strings and no log probabilities. */
    public static CompletionRequest greedy(CompletionInput input, int maxTokens) {
        return new CompletionRequest(input, null, OptionalInt.of(maxTokens), SamplingParams.GREEDY, List.of(), Set.of(), false,
                OptionalInt.empty());
    }
}
