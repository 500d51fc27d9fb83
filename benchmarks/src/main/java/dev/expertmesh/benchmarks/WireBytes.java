package dev.expertmesh.benchmarks;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Payload bytes a benchmark method moved over a socket, both directions counted, as a JMH
 * secondary result normalized by the measured time (see {@link BytesStreamed}).
 */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.OPERATIONS)
public class WireBytes {
    public long wireBytes;

    @Setup(Level.Iteration)
    public void reset() {
        wireBytes = 0;
    }

    void add(long bytes) {
        wireBytes += bytes;
    }
}
