package dev.expertmesh.coordinator.routing;

import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The trace as Arrow Java reads it back: the documented schema, one row per (step, layer, expert) with tokens. */
class RoutingTraceTest {
    private static final int EXPERTS = 16;

    /** A row of the trace. */
    record Row(long step, long unixMillis, int layer, int expert, long tokens) {
    }

    static List<Row> read(Path trace) throws IOException {
        List<Row> rows = new ArrayList<>();
        try (RootAllocator allocator = new RootAllocator();
             ArrowStreamReader reader = new ArrowStreamReader(FileChannel.open(trace), allocator)) {
            VectorSchemaRoot root = reader.getVectorSchemaRoot();
            assertThat(root.getSchema()).isEqualTo(RoutingTrace.SCHEMA);
            while (reader.loadNextBatch()) {
                for (int i = 0; i < root.getRowCount(); i++) {
                    rows.add(new Row(((BigIntVector) root.getVector("step")).get(i), ((BigIntVector) root.getVector("unix_ms")).get(i),
                            ((IntVector) root.getVector("layer")).get(i), ((IntVector) root.getVector("expert")).get(i),
                            ((BigIntVector) root.getVector("tokens")).get(i)));
                }
            }
        }
        return rows;
    }

    @Test
    void stepsComeBackAsLongFormatRowsAcrossBatches(@TempDir Path dir) throws IOException {
        Path path = dir.resolve("routing.arrows");
        int steps = RoutingTrace.BATCH_STEPS * 2 + 5;
        try (RoutingTrace trace = RoutingTrace.create(path, EXPERTS)) {
            for (int s = 0; s < steps; s++) {
                // layer 1 expert 2 gets s tokens (none at step 0), layer 3 expert 15 gets one.
                StepCounts counts = s == 0 ? new StepCounts(new int[]{3 * EXPERTS + 15}, new long[]{1})
                        : new StepCounts(new int[]{EXPERTS + 2, 3 * EXPERTS + 15}, new long[]{s, 1});
                trace.step(s, 1_000L + s, counts);
            }
        }
        List<Row> rows = read(path);
        assertThat(rows).hasSize(2 * steps - 1);
        assertThat(rows.getFirst()).isEqualTo(new Row(0, 1_000, 3, 15, 1));
        assertThat(rows.get(1)).isEqualTo(new Row(1, 1_001, 1, 2, 1));
        assertThat(rows.getLast()).isEqualTo(new Row(steps - 1, 1_000 + steps - 1, 3, 15, 1));
        assertThat(rows.stream().filter(r -> r.layer() == 1).mapToLong(Row::tokens).sum()).isEqualTo((long) steps * (steps - 1) / 2);
    }

    @Test
    void aTraceOfNoStepsIsAnEmptyStream(@TempDir Path dir) throws IOException {
        Path path = dir.resolve("empty.arrows");
        RoutingTrace.create(path, EXPERTS).close();
        assertThat(read(path)).isEmpty();
    }
}
