package dev.expertmesh.benchmarks;

import dev.expertmesh.transport.ExchangeResponder;
import dev.expertmesh.transport.FlightEndpoint;
import dev.expertmesh.transport.HiddenRows;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.NoOpFlightProducer;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.FixedSizeBinaryVector;

import java.lang.foreign.MemorySegment;
import java.util.Optional;

/**
 * A worker's Flight endpoint on 127.0.0.1 answering every DoExchange batch of hidden rows with a copy of
 * them, through the workers' own {@link ExchangeResponder}: the data plane's path with no model
 * work in it. The rows are copied as bytes, so that no bf16 conversion is counted as transport.
 */
final class FlightEchoServer implements AutoCloseable {
    private final BufferAllocator allocator = new RootAllocator();
    private final FlightEndpoint endpoint = FlightEndpoint.start("echo", "127.0.0.1", 0, allocator, new Echo(), Optional.empty());

    int port() {
        return endpoint.port();
    }

    private final class Echo extends NoOpFlightProducer {
        @Override
        public void doExchange(CallContext context, FlightStream reader, ServerStreamListener writer) {
            ExchangeResponder.serve("echo", reader, writer, allocator, (request, metadata, reply) -> {
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
            });
        }
    }

    private static MemorySegment segment(long address, long bytes) {
        return MemorySegment.ofAddress(address).reinterpret(bytes);
    }

    @Override
    public void close() throws InterruptedException {
        endpoint.close();
    }
}
