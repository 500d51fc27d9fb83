package dev.expertmesh.engine;

/**
 * The model a scheduler steps, and the host it lives in. A cluster changes what the model's stages
 * dispatch to only at the boundaries the scheduler marks here, never within a step.
 */
@FunctionalInterface
public interface ModelHost {

    /** The model; IllegalStateException, saying what is missing, while there is none yet. */
    DeepseekModel model();

    /** Before each step, and at least every 100 ms while idle: where changes of the cluster take effect. */
    default void beforeStep() {
    }

    /** After each step that ran to its end. */
    default void stepCompleted() {
    }
}
