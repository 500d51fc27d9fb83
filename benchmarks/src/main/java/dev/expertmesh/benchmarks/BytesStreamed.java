package dev.expertmesh.benchmarks;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Bytes a benchmark method read from memory, as a JMH secondary result: JMH normalizes an
 * operations counter by the measured time (in average-time mode, as time per byte), so the
 * bandwidth comes out of the fork that did the reading, and lands in the JSON results.
 */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.OPERATIONS)
public class BytesStreamed {
    public long weightBytes;

    @Setup(Level.Iteration)
    public void reset() {
        weightBytes = 0;
    }

    void add(long bytes) {
        weightBytes += bytes;
    }
}
