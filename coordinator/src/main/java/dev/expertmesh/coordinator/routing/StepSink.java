package dev.expertmesh.coordinator.routing;

/** Where each completed step's routing goes beyond the window: the trace file, or nowhere. */
public interface StepSink extends AutoCloseable {
    StepSink NONE = (step, unixMillis, counts) -> {
    };

    /** {@code counts}: the step's tokens per cell, layer × routed experts + expert. */
    void step(long step, long unixMillis, StepCounts counts);

    @Override
    default void close() {
    }
}
