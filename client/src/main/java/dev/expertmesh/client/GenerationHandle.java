package dev.expertmesh.client;

/** A generation in flight. */
public interface GenerationHandle {
    /** Stops the generation: the coordinator frees its cache at its next step, and the listener gets CANCELLED. */
    void cancel();
}
