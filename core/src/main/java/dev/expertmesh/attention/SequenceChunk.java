package dev.expertmesh.attention;

/**
 * Consecutive tokens of one sequence in a step's batch: positions [start, start + length).
 * A prefill is one long chunk; a decode step gives each sequence a chunk of length 1.
 */
public record SequenceChunk(long sequenceId, int start, int length) {
    public SequenceChunk {
        if (start < 0 || length <= 0) {
            throw new IllegalArgumentException("chunk of sequence " + sequenceId + " needs start >= 0 and length > 0, got "
                    + start + ", " + length);
        }
    }

    public int end() {
        return start + length;
    }
}
