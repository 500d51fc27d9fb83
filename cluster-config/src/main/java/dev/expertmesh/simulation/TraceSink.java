package dev.expertmesh.simulation;

/** Takes a routing trace row by row, in the trace's long format: tokens routed to one (layer, expert) at one step. */
@FunctionalInterface
public interface TraceSink {
    void tokens(long step, int layer, int expert, long tokens);

    /** This sink and then {@code other}: a synthetic trace both simulated and written out in one pass. */
    default TraceSink andThen(TraceSink other) {
        return (step, layer, expert, tokens) -> {
            tokens(step, layer, expert, tokens);
            other.tokens(step, layer, expert, tokens);
        };
    }
}
