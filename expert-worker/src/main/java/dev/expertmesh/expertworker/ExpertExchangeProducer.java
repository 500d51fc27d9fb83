package dev.expertmesh.expertworker;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.expertmesh.moe.ExpertRoutes;
import dev.expertmesh.moe.ExpertStage;
import dev.expertmesh.proto.ExpertBatch;
import dev.expertmesh.proto.ExpertExchange;
import dev.expertmesh.transport.AppMetadata;
import dev.expertmesh.transport.ExchangeResponder;
import dev.expertmesh.transport.ExpertSlots;
import dev.expertmesh.transport.HiddenRows;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.NoOpFlightProducer;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FixedSizeBinaryVector;

/**
 * Answers expert requests: each batch's rows through the experts named beside them, one weighted
 * sum per row. A batch of another placement epoch than this worker's is refused, since its routes
 * may name experts that moved.
 */
final class ExpertExchangeProducer extends NoOpFlightProducer {
    private final String name;
    private final int dim;
    private final BufferAllocator allocator;
    private volatile Assignment assignment;

    /** The experts this worker serves, and the shard-map epoch that placed them here. */
    record Assignment(ExpertStage experts, long epoch) {
    }

    ExpertExchangeProducer(String name, Assignment assignment, int dim, BufferAllocator allocator) {
        this.name = name;
        this.assignment = assignment;
        this.dim = dim;
        this.allocator = allocator;
    }

    /** From now on, serve these experts for batches of their epoch. */
    void assign(Assignment next) {
        assignment = next;
    }

    @Override
    public void doExchange(CallContext context, FlightStream reader, ServerStreamListener writer) {
        ExpertExchange command;
        try {
            command = ExpertExchange.parseFrom(reader.getDescriptor().getCommand());
        } catch (InvalidProtocolBufferException e) {
            writer.error(CallStatus.INVALID_ARGUMENT.withDescription(name + ": the command is not an ExpertExchange").toRuntimeException());
            return;
        }
        if (command.getEpoch() != assignment.epoch()) {
            writer.error(staleEpoch(command.getEpoch()).toRuntimeException());
            return;
        }
        ExchangeResponder.serve(name, reader, writer, allocator, (request, metadata, reply) -> {
            ExpertBatch batch = AppMetadata.read(metadata, ExpertBatch.parser(), "ExpertBatch");
            Assignment current = assignment;
            if (batch.getEpoch() != current.epoch()) {
                throw staleEpoch(batch.getEpoch()).toRuntimeException();
            }
            float[] x = HiddenRows.read((FixedSizeBinaryVector) request.getVector(HiddenRows.FIELD), dim);
            ExpertRoutes routes = ExpertSlots.read((FixedSizeBinaryVector) request.getVector(ExpertSlots.IDS),
                    (FixedSizeBinaryVector) request.getVector(ExpertSlots.WEIGHTS));
            float[] sums = current.experts().forward(batch.getLayer(), batch.getMicroBatch(), x, routes);
            HiddenRows.writeAll((FixedSizeBinaryVector) reply.getVector(HiddenRows.FIELD), sums, dim);
            reply.setRowCount(routes.tokens());
        });
    }

    private CallStatus staleEpoch(long sent) {
        return CallStatus.INVALID_ARGUMENT.withDescription(name + ": refused a batch of placement epoch " + sent
                + "; this worker serves epoch " + assignment.epoch() + " (the sender's shard map is stale)");
    }
}
