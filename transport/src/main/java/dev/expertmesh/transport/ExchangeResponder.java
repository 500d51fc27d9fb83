package dev.expertmesh.transport;

import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightProducer.ServerStreamListener;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * A worker's side of a DoExchange stream: one reply batch of hidden rows per request batch, in
 * the request's hidden type, from a reply root reused for the stream's life. A handler's failure
 * ends the stream with an error the client sees, prefixed with the worker's name.
 */
public final class ExchangeResponder {
    private static final Logger log = LoggerFactory.getLogger(ExchangeResponder.class);

    /** Answers one request batch by filling {@code reply}. */
    @FunctionalInterface
    public interface Handler {
        void answer(VectorSchemaRoot request, ArrowBuf metadata, VectorSchemaRoot reply);
    }

    private ExchangeResponder() {
    }

    public static void serve(String worker, FlightStream reader, ServerStreamListener writer, BufferAllocator allocator, Handler handler) {
        VectorSchemaRoot reply = null;
        try {
            while (reader.next()) {
                VectorSchemaRoot request = reader.getRoot();
                if (reply == null) {
                    reply = VectorSchemaRoot.create(new Schema(List.of(request.getSchema().findField(HiddenRows.FIELD))), allocator);
                    writer.start(reply);
                }
                handler.answer(request, reader.getLatestMetadata(), reply);
                writer.putNext();
            }
            writer.completed();
        } catch (FlightRuntimeException e) {
            // A client that closes its stream (a coordinator moving to a new shard map, or stopping) is routine.
            if (e.status().code() == FlightStatusCode.CANCELLED) {
                log.debug("{}: {}", worker, e.getMessage());
            } else {
                log.warn("{}: {}", worker, e.getMessage());
            }
            writer.error(e.status().withDescription(worker + ": " + e.status().description()).toRuntimeException());
        } catch (IllegalArgumentException | IllegalStateException e) {
            log.warn("{}: refused a batch: {}", worker, e.getMessage());
            writer.error(CallStatus.INVALID_ARGUMENT.withDescription(worker + ": " + e.getMessage()).withCause(e).toRuntimeException());
        } catch (RuntimeException e) {
            log.error("{}: failed on a batch", worker, e);
            writer.error(CallStatus.INTERNAL.withDescription(worker + ": " + e).withCause(e).toRuntimeException());
        } finally {
            if (reply != null) {
                reply.close();
            }
        }
    }
}
