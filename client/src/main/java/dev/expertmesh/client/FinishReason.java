package dev.expertmesh.client;

/** Why a generation ended. */
public enum FinishReason {
    /** The model's eos, a stop token id or a stop string. */
    STOP,
    /** max_tokens, or the context is full. */
    LENGTH
}
