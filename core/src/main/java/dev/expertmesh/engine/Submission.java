package dev.expertmesh.engine;

/** A generation handed to the scheduler. */
public interface Submission {

    /** Stops the generation: its cache blocks are free by the end of the next step and its listener hears nothing more. */
    void cancel();
}
