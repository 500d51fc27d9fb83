package dev.expertmesh.transport;

import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.proto.HiddenType;
import org.apache.arrow.vector.types.pojo.Schema;

import java.util.List;

/** The data plane's two kinds of stream and their record batch schemas; one schema per stream for its whole life. */
public final class DataPlaneSchemas {
    /** To an expert worker: rows with their experts there, answered with the rows' weighted sums. */
    public static final String EXPERT_STREAM = "experts";
    /** To an attention worker: rows of some sequences' chunks, answered with the rows after attention. */
    public static final String ATTENTION_STREAM = "attention";

    private DataPlaneSchemas() {
    }

    /** Hidden rows alone: attention requests and every reply. */
    public static Schema hidden(int dim, HiddenType type) {
        return new Schema(List.of(HiddenRows.field(dim, type)));
    }

    /** What a worker answers a request of {@code requestSchema} with: its hidden rows, after the worker's layer. */
    public static Schema reply(Schema requestSchema) {
        return new Schema(List.of(requestSchema.findField(HiddenRows.FIELD)));
    }

    /** Hidden rows with their experts on the receiving worker: expert requests. */
    public static Schema expertRequest(ModelConfig config, HiddenType type) {
        int slots = expertSlots(config);
        return new Schema(List.of(HiddenRows.field(config.hiddenSize(), type), ExpertSlots.idsField(slots), ExpertSlots.weightsField(slots)));
    }

    /** The most experts one row can have on one worker in any layer: its routed ones and the shared expert. */
    public static int expertSlots(ModelConfig config) {
        return Math.max(1, config.numExpertsPerTok() + (config.nSharedExperts() > 0 ? 1 : 0));
    }
}
