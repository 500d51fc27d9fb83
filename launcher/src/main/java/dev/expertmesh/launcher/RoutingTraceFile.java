package dev.expertmesh.launcher;

import dev.expertmesh.coordinator.routing.RoutingTrace;
import dev.expertmesh.simulation.TraceSink;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.apache.arrow.vector.ipc.ArrowStreamWriter;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;

/**
 * The routing trace of {@code coordinator --record-routing}: an Arrow IPC stream in long format, one row per
 * (step, layer, expert) that got tokens, with columns step int64, unix_ms int64, layer int32, expert int32 and
 * tokens int64. Reading also takes the IPC file format (what pyarrow's and polars' {@code write_ipc} write) and
 * ignores columns it does not use; writing writes exactly the coordinator's schema.
 */
final class RoutingTraceFile implements TraceSink, AutoCloseable {
    private static final String FIX = "record one with expertmesh coordinator --record-routing FILE, or use --synthetic";
    /** Rows per written batch: enough that a long trace is not thousands of tiny batches. */
    private static final int BATCH_ROWS = 64 * 1024;
    private static final byte[] FILE_MAGIC = "ARROW1".getBytes(StandardCharsets.US_ASCII);

    private final Path path;
    private final BufferAllocator allocator = new RootAllocator();
    private final VectorSchemaRoot root = VectorSchemaRoot.create(RoutingTrace.SCHEMA, allocator);
    private final ArrowStreamWriter writer;
    private int rows;

    private RoutingTraceFile(Path path) throws IOException {
        this.path = path;
        this.writer = new ArrowStreamWriter(root, null, FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING));
        writer.start();
    }

    /** A new trace at {@code path}, replacing any file there; rows written through {@link #tokens}. */
    static RoutingTraceFile create(Path path) throws IOException {
        try {
            return new RoutingTraceFile(path);
        } catch (IOException e) {
            throw new IOException("--write-trace " + path + ": cannot write: " + e.getMessage(), e);
        }
    }

    /** Hands every row of the trace at {@code path} to {@code sink}, in the file's order. */
    static void read(Path path, TraceSink sink) throws IOException {
        if (!Files.isRegularFile(path)) {
            throw new IllegalArgumentException(path + ": no such file (" + FIX + ")");
        }
        try (BufferAllocator allocator = new RootAllocator(); ArrowReader reader = open(path, allocator)) {
            VectorSchemaRoot batch = reader.getVectorSchemaRoot();
            requireColumns(path, batch.getSchema());
            while (reader.loadNextBatch()) {
                BigIntVector step = (BigIntVector) batch.getVector("step");
                IntVector layer = (IntVector) batch.getVector("layer");
                IntVector expert = (IntVector) batch.getVector("expert");
                BigIntVector tokens = (BigIntVector) batch.getVector("tokens");
                for (int row = 0; row < batch.getRowCount(); row++) {
                    sink.tokens(step.get(row), layer.get(row), expert.get(row), tokens.get(row));
                }
            }
        } catch (IOException | IllegalStateException e) {
            // Arrow says "unexpected end of stream" and the like: name the file and what it should be.
            throw new IllegalArgumentException(path + ": not an Arrow IPC routing trace: " + e.getMessage() + " (" + FIX + ")", e);
        }
    }

    private static ArrowReader open(Path path, BufferAllocator allocator) throws IOException {
        byte[] head = new byte[FILE_MAGIC.length];
        try (InputStream in = Files.newInputStream(path)) {
            head = in.readNBytes(head.length);
        }
        FileChannel channel = FileChannel.open(path);
        return Arrays.equals(head, FILE_MAGIC) ? new ArrowFileReader(channel, allocator) : new ArrowStreamReader(channel, allocator);
    }

    private static void requireColumns(Path path, Schema schema) {
        for (String column : List.of("step", "layer", "expert", "tokens")) {
            ArrowType expected = RoutingTrace.SCHEMA.findField(column).getType();
            boolean present = schema.getFields().stream().anyMatch(f -> f.getName().equals(column) && f.getType().equals(expected));
            if (!present) {
                throw new IllegalArgumentException(path + ": no column " + column + " of " + expected
                        + " (a routing trace has step int64, layer int32, expert int32, tokens int64; " + FIX + ")");
            }
        }
    }

    @Override
    public void tokens(long step, int layer, int expert, long tokens) {
        // Synthetic steps happen at no time: unix_ms is 0.
        ((BigIntVector) root.getVector("step")).setSafe(rows, step);
        ((BigIntVector) root.getVector("unix_ms")).setSafe(rows, 0);
        ((IntVector) root.getVector("layer")).setSafe(rows, layer);
        ((IntVector) root.getVector("expert")).setSafe(rows, expert);
        ((BigIntVector) root.getVector("tokens")).setSafe(rows, tokens);
        if (++rows == BATCH_ROWS) {
            flush();
        }
    }

    private void flush() {
        if (rows == 0) {
            return;
        }
        root.setRowCount(rows);
        try {
            writer.writeBatch();
        } catch (IOException e) {
            throw new IllegalStateException("--write-trace " + path + ": cannot write: " + e.getMessage(), e);
        }
        root.clear();
        rows = 0;
    }

    /** Writes the rows not yet written and the end of the stream. */
    @Override
    public void close() throws IOException {
        try {
            flush();
            writer.end();
        } finally {
            writer.close();
            root.close();
            allocator.close();
        }
    }
}
