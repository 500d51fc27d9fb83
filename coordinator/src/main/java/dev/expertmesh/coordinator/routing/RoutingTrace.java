package dev.expertmesh.coordinator.routing;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowStreamWriter;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Each step's tokens per (layer, routed expert) as an Arrow IPC stream, in long format: one row per
 * (step, layer, expert) that got tokens. The stream format rather than the file format, since a
 * stream is readable up to its last batch even when the coordinator is killed before it closes
 * (the file format's footer is written at close only). Rows are written in batches of
 * {@link #BATCH_STEPS} steps, so that a long run is not thousands of tiny batches. A trace that
 * cannot be written (a full disk) stops, with a warning, rather than fail the steps it records.
 */
public final class RoutingTrace implements StepSink {
    private static final Logger log = LoggerFactory.getLogger(RoutingTrace.class);
    static final int BATCH_STEPS = 64;
    public static final Schema SCHEMA = new Schema(List.of(
            Field.notNullable("step", new ArrowType.Int(64, true)),
            Field.notNullable("unix_ms", new ArrowType.Int(64, true)),
            Field.notNullable("layer", new ArrowType.Int(32, true)),
            Field.notNullable("expert", new ArrowType.Int(32, true)),
            Field.notNullable("tokens", new ArrowType.Int(64, true))));

    private final int experts;
    private final BufferAllocator allocator = new RootAllocator();
    private final VectorSchemaRoot root;
    private final ArrowStreamWriter writer;
    private int rows;
    private int steps;
    private boolean failed;

    private RoutingTrace(int experts, FileChannel out) throws IOException {
        this.experts = experts;
        this.root = VectorSchemaRoot.create(SCHEMA, allocator);
        this.writer = new ArrowStreamWriter(root, null, out);
        writer.start();
    }

    /** A new trace at {@code path} (replacing any file there), for a model of {@code experts} routed experts per layer. */
    public static RoutingTrace create(Path path, int experts) {
        try {
            return new RoutingTrace(Math.max(experts, 1), FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING));
        } catch (IOException e) {
            throw new UncheckedIOException("--record-routing " + path + ": cannot write: " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized void step(long step, long unixMillis, StepCounts counts) {
        if (failed) {
            return;
        }
        for (int i = 0; i < counts.cells().length; i++) {
            int cell = counts.cells()[i];
            ((BigIntVector) root.getVector("step")).setSafe(rows, step);
            ((BigIntVector) root.getVector("unix_ms")).setSafe(rows, unixMillis);
            ((IntVector) root.getVector("layer")).setSafe(rows, cell / experts);
            ((IntVector) root.getVector("expert")).setSafe(rows, cell % experts);
            ((BigIntVector) root.getVector("tokens")).setSafe(rows, counts.counts()[i]);
            rows++;
        }
        if (++steps == BATCH_STEPS) {
            flush();
        }
    }

    private void flush() {
        if (rows > 0) {
            root.setRowCount(rows);
            try {
                writer.writeBatch();
            } catch (IOException e) {
                log.warn("Stopped the routing trace, which could not be written: {}", e.getMessage());
                failed = true;
            }
            root.clear();
        }
        rows = 0;
        steps = 0;
    }

    /** Writes the steps not yet written and the end of the stream. */
    @Override
    public synchronized void close() {
        try {
            if (!failed) {
                flush();
                writer.end();
            }
        } catch (IOException e) {
            log.warn("Could not finish the routing trace: {}", e.getMessage());
        } finally {
            writer.close();
            root.close();
            allocator.close();
        }
    }
}
