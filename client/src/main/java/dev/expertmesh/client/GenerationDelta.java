package dev.expertmesh.client;

import java.util.List;

/**
 * Tokens as the coordinator streamed them: the text they complete (a character split across tokens
 * comes with its last one), their ids, and their log probabilities when the request asked for them.
 */
public record GenerationDelta(String text, List<Integer> tokenIds, List<TokenLogprob> logprobs) {
    public GenerationDelta {
        tokenIds = List.copyOf(tokenIds);
        logprobs = List.copyOf(logprobs);
    }
}
