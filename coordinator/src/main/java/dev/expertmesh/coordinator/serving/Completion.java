package dev.expertmesh.coordinator.serving;

import dev.expertmesh.engine.FinishReason;

/** How a generation ended: the reason, the stop string that ended it (or null), and the token counts. */
public record Completion(FinishReason finishReason, String stop, int promptTokens, int completionTokens) {
}
