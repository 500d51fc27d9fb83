package dev.expertmesh.coordinator.serving;

/**
 * Receives one generation as it is made. Calls come from the scheduler's thread, one at a time and
 * in order, so they must not block: hand the data to a stream and return.
 */
public interface CompletionListener {

    /** New tokens and the text they complete (possibly empty while a character or a stop string is pending). */
    void delta(CompletionDelta delta);

    /** The generation ended; nothing follows. */
    void finished(Completion completion);

    /** The generation failed (a worker left, say); nothing follows. */
    void failed(RuntimeException cause);
}
