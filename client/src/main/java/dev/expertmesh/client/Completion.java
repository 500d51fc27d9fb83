package dev.expertmesh.client;

import java.util.List;

/** A whole generation: its text, its token ids and how it ended. */
public record Completion(String text, List<Integer> tokenIds, Finish finish) {
    public Completion {
        tokenIds = List.copyOf(tokenIds);
    }
}
