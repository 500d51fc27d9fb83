package dev.expertmesh.attentionworker;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.expertmesh.attention.CacheUsage;
import dev.expertmesh.attention.ResidentAttentionStage;
import dev.expertmesh.attention.SequenceChunk;
import dev.expertmesh.proto.AttentionBatch;
import dev.expertmesh.proto.AttentionCapacity;
import dev.expertmesh.proto.ReleaseSequences;
import dev.expertmesh.transport.BatchMetadata;
import dev.expertmesh.transport.DataPlaneActions;
import dev.expertmesh.transport.DataPlaneServer;
import dev.expertmesh.transport.HealthReport;
import dev.expertmesh.transport.HiddenRows;
import org.apache.arrow.flight.Action;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.NoOpFlightProducer;
import org.apache.arrow.flight.Result;
import org.apache.arrow.vector.FixedSizeBinaryVector;
import org.apache.arrow.vector.VectorSchemaRoot;

import java.util.List;

/**
 * Answers attention requests with o_proj(MLA(input_layernorm(x))) per row, the residual left to
 * the coordinator so that the residual stream never travels at bf16; the "release" and
 * "capacity" actions on the latent cache pool, and "health".
 */
final class AttentionExchangeProducer extends NoOpFlightProducer implements DataPlaneServer.Handler {
    private final String name;
    private final ResidentAttentionStage attention;
    private final int dim;
    private final HealthReport health;

    AttentionExchangeProducer(String name, ResidentAttentionStage attention, int dim, HealthReport health) {
        this.name = name;
        this.health = health;
        this.attention = attention;
        this.dim = dim;
    }

    @Override
    public void answer(VectorSchemaRoot request, byte[] metadata, VectorSchemaRoot reply) {
        AttentionBatch batch = BatchMetadata.read(metadata, AttentionBatch.parser(), "AttentionBatch");
        List<SequenceChunk> chunks = batch.getChunksList().stream()
                .map(c -> new SequenceChunk(c.getSequenceId(), c.getStart(), c.getLength()))
                .toList();
        int rows = chunks.stream().mapToInt(SequenceChunk::length).sum();
        if (rows != request.getRowCount()) {
            throw new IllegalArgumentException("the batch's chunks cover " + rows + " rows but it has " + request.getRowCount());
        }
        float[] x = HiddenRows.read((FixedSizeBinaryVector) request.getVector(HiddenRows.FIELD), dim);
        float[] out = attention.attentionOutput(batch.getLayer(), chunks, x);
        HiddenRows.writeAll((FixedSizeBinaryVector) reply.getVector(HiddenRows.FIELD), out, dim);
        reply.setRowCount(rows);
    }

    @Override
    public void doAction(CallContext context, Action action, StreamListener<Result> listener) {
        switch (action.getType()) {
            case DataPlaneActions.RELEASE -> {
                try {
                    ReleaseSequences release = ReleaseSequences.parseFrom(action.getBody());
                    release.getSequenceIdsList().forEach(attention::release);
                    listener.onCompleted();
                } catch (InvalidProtocolBufferException e) {
                    listener.onError(CallStatus.INVALID_ARGUMENT.withDescription(name + ": the body is not a ReleaseSequences").toRuntimeException());
                }
            }
            case DataPlaneActions.CAPACITY -> {
                CacheUsage held = attention.blocksHeld();
                listener.onNext(new Result(AttentionCapacity.newBuilder()
                        .setFreeBlocks(Math.toIntExact(held.freeBlocks()))
                        .setTotalBlocks(Math.toIntExact(held.totalBlocks()))
                        .setBlockTokens(held.blockTokens())
                        .build().toByteArray()));
                listener.onCompleted();
            }
            case DataPlaneActions.HEALTH -> health.answer(listener);
            default -> listener.onError(CallStatus.UNIMPLEMENTED.withDescription(name + ": no action " + action.getType()).toRuntimeException());
        }
    }
}
