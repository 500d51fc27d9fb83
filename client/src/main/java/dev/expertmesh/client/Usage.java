package dev.expertmesh.client;

/** Tokens of the prompt and tokens generated. */
public record Usage(int promptTokens, int completionTokens) {
}
