package dev.expertmesh.transport;

import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.proto.HiddenType;
import org.apache.arrow.vector.types.pojo.Schema;

import java.util.List;

/** The record batch schemas of the data plane's streams; one schema per stream for its whole life. */
public final class DataPlaneSchemas {
    private DataPlaneSchemas() {
    }

    /** Hidden rows alone: attention requests and every reply. */
    public static Schema hidden(int dim, HiddenType type) {
        return new Schema(List.of(HiddenRows.field(dim, type)));
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
