package dev.expertmesh.coordinator.serving;

import dev.expertmesh.sampling.TokenLogprob;

import java.util.List;

/** Tokens just generated and the text they complete; {@code logprobs} has one entry per token when asked for, else none. */
public record CompletionDelta(String text, int[] tokenIds, List<TokenLogprob> logprobs) {
    public CompletionDelta {
        logprobs = List.copyOf(logprobs);
    }
}
