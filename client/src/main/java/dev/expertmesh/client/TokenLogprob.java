package dev.expertmesh.client;

import java.util.List;

/**
 * A generated token's natural log probability under the model (before temperature and filters), and
 * the most likely tokens at its position, most likely first.
 */
public record TokenLogprob(int tokenId, float logprob, List<Alternative> top) {
    public TokenLogprob {
        top = List.copyOf(top);
    }

    public record Alternative(int tokenId, float logprob) {
    }
}
