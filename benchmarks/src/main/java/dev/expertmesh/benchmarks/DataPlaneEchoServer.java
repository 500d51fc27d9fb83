package dev.expertmesh.benchmarks;

import dev.expertmesh.transport.DataPlaneSchemas;
import dev.expertmesh.transport.DataPlaneServer;
import dev.expertmesh.transport.DataPlaneSockets;
import dev.expertmesh.transport.HiddenRows;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.FixedSizeBinaryVector;
import org.apache.arrow.vector.VectorSchemaRoot;

import java.lang.foreign.MemorySegment;
import java.util.Optional;

/**
 * A worker's data plane on 127.0.0.1 answering every batch of hidden rows with a copy of them, through the
 * workers' own {@link DataPlaneServer}: the data plane's path with no model work in it. The rows are copied
 * as bytes, so that no bf16 conversion is counted as transport.
 */
final class DataPlaneEchoServer implements AutoCloseable {
    private final BufferAllocator allocator = new RootAllocator();
    private final DataPlaneServer server = DataPlaneServer.start("echo", DataPlaneSchemas.ATTENTION_STREAM, "127.0.0.1", 0,
            DataPlaneSockets.of(Optional.empty()), allocator, DataPlaneEchoServer::echo);

    int port() {
        return server.port();
    }

    private static void echo(VectorSchemaRoot request, byte[] metadata, VectorSchemaRoot reply) {
        FixedSizeBinaryVector in = (FixedSizeBinaryVector) request.getVector(HiddenRows.FIELD);
        FixedSizeBinaryVector out = (FixedSizeBinaryVector) reply.getVector(HiddenRows.FIELD);
        int rows = in.getValueCount();
        if (out.getValueCapacity() < rows) {
            out.allocateNew(rows);
        }
        long bytes = (long) rows * in.getByteWidth();
        MemorySegment.copy(segment(in.getDataBuffer().memoryAddress(), bytes), 0,
                segment(out.getDataBuffer().memoryAddress(), bytes), 0, bytes);
        for (int r = 0; r < rows; r++) {
            out.setIndexDefined(r);
        }
        out.setValueCount(rows);
        reply.setRowCount(rows);
    }

    private static MemorySegment segment(long address, long bytes) {
        return MemorySegment.ofAddress(address).reinterpret(bytes);
    }

    @Override
    public void close() throws InterruptedException {
        server.close();
        allocator.close();
    }
}
