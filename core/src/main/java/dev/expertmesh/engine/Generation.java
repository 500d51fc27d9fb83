package dev.expertmesh.engine;

/** The tokens generated for one request (an end-of-sequence token included) and why generation ended. */
public record Generation(int[] tokenIds, FinishReason finishReason, int promptTokens) {
}
