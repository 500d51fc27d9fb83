package dev.expertmesh.expertworker;

import dev.expertmesh.moe.ExpertRoutes;
import dev.expertmesh.moe.ExpertStage;
import dev.expertmesh.placement.EpochWindow;
import dev.expertmesh.proto.ExpertBatch;
import dev.expertmesh.transport.BatchMetadata;
import dev.expertmesh.transport.DataPlaneActions;
import dev.expertmesh.transport.DataPlaneServer;
import dev.expertmesh.transport.ExpertSlots;
import dev.expertmesh.transport.HealthReport;
import dev.expertmesh.transport.HiddenRows;
import org.apache.arrow.flight.Action;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.NoOpFlightProducer;
import org.apache.arrow.flight.Result;
import org.apache.arrow.vector.FixedSizeBinaryVector;
import org.apache.arrow.vector.VectorSchemaRoot;

/**
 * Answers expert requests: each batch's rows through the experts named beside them, one weighted
 * sum per row. A batch of a placement epoch outside the worker's window is refused, since its
 * routes may name experts that moved. The one action is "health".
 */
final class ExpertExchangeProducer extends NoOpFlightProducer implements DataPlaneServer.Handler {
    private final String name;
    private final int dim;
    private final HealthReport health;
    private volatile Assignment assignment;

    /** The experts this worker serves, and the shard-map epochs whose batches they answer. */
    record Assignment(ExpertStage experts, EpochWindow epochs) {
    }

    ExpertExchangeProducer(String name, Assignment assignment, int dim, HealthReport health) {
        this.name = name;
        this.health = health;
        this.assignment = assignment;
        this.dim = dim;
    }

    /** The experts served now. */
    ExpertStage experts() {
        return assignment.experts();
    }

    /** From now on, serve these experts for batches of the assignment's epochs. */
    void assign(Assignment next) {
        assignment = next;
    }

    @Override
    public void answer(VectorSchemaRoot request, byte[] metadata, VectorSchemaRoot reply) {
        ExpertBatch batch = BatchMetadata.read(metadata, ExpertBatch.parser(), "ExpertBatch");
        Assignment current = assignment;
        current.epochs().check(batch.getEpoch());
        float[] x = HiddenRows.read((FixedSizeBinaryVector) request.getVector(HiddenRows.FIELD), dim);
        ExpertRoutes routes = ExpertSlots.read((FixedSizeBinaryVector) request.getVector(ExpertSlots.IDS),
                (FixedSizeBinaryVector) request.getVector(ExpertSlots.WEIGHTS));
        float[] sums = current.experts().forward(batch.getLayer(), batch.getMicroBatch(), x, routes);
        HiddenRows.writeAll((FixedSizeBinaryVector) reply.getVector(HiddenRows.FIELD), sums, dim);
        reply.setRowCount(routes.tokens());
    }

    @Override
    public void doAction(CallContext context, Action action, StreamListener<Result> listener) {
        if (action.getType().equals(DataPlaneActions.HEALTH)) {
            health.answer(listener);
        } else {
            listener.onError(CallStatus.UNIMPLEMENTED.withDescription(name + ": no action " + action.getType()).toRuntimeException());
        }
    }
}
