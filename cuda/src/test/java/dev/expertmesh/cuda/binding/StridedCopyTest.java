package dev.expertmesh.cuda.binding;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * copyRows through a stand-in libcuda built against the toolkit's own cuda.h (skipped without it):
 * CUDA_MEMCPY2D as Java fills it is the struct the header declares.
 */
class StridedCopyTest {

    @Test
    void copiesASliceOfEveryRowBetweenPitches(@TempDir Path dir) throws Exception {
        var include = StandIns.cudaInclude();
        assumeTrue(include.isPresent(), "no cuda.h (set CUDA_HOME): the CUDA_MEMCPY2D layout cannot be checked");
        Path library = StandIns.build("fake_cuda_copy", dir, "-I" + include.get());
        CudaDriver driver = CudaDriver.load(List.of(library.toString()));
        try (Arena arena = Arena.ofConfined()) {
            // q [rows·heads, qk = 6] whose last 2 values (the rope part) go to q_pe [rows·heads, 2], as decode does.
            int rowsTimesHeads = 5;
            int qk = 6;
            int rope = 2;
            float[] q = new float[rowsTimesHeads * qk];
            for (int i = 0; i < q.length; i++) {
                q[i] = i;
            }
            MemorySegment source = arena.allocateFrom(ValueLayout.JAVA_FLOAT, q);
            MemorySegment destination = arena.allocate(ValueLayout.JAVA_FLOAT, rowsTimesHeads * rope);
            int f = Float.BYTES;
            driver.copyRows(destination.address(), (long) rope * f, source.address() + (long) (qk - rope) * f, (long) qk * f,
                    (long) rope * f, rowsTimesHeads, MemorySegment.NULL);

            float[] expected = new float[rowsTimesHeads * rope];
            for (int r = 0; r < rowsTimesHeads; r++) {
                System.arraycopy(q, r * qk + qk - rope, expected, r * rope, rope);
            }
            assertThat(destination.toArray(ValueLayout.JAVA_FLOAT)).containsExactly(expected);
        }
    }
}
