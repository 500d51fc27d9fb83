package dev.expertmesh.client;

import java.util.Optional;

/** How a generation ended: the reason, the token usage, and the stop string that ended it, if one did. */
public record Finish(FinishReason reason, Usage usage, Optional<String> stop) {
}
