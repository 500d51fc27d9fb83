package dev.expertmesh.attention;

import java.util.Set;

/**
 * The caches of some sequences are gone with the attention worker that held them. Nothing else in the
 * step is lost: those sequences are recomputed from their tokens, and the others' step is run again
 * (writing a cached position twice leaves the same cache).
 */
public final class SequencesLostException extends RuntimeException {
    private final Set<Long> sequences;

    public SequencesLostException(Set<Long> sequences, String why) {
        super(sequences.size() + " sequence caches lost: " + why);
        this.sequences = Set.copyOf(sequences);
    }

    public Set<Long> sequences() {
        return sequences;
    }
}
