package dev.expertmesh.coordinator.routing;

import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.proto.ClusterStatus;
import dev.expertmesh.proto.ExpertPlacement;
import dev.expertmesh.proto.LayerLoad;
import dev.expertmesh.proto.Role;
import dev.expertmesh.proto.WorkerState;
import dev.expertmesh.proto.WorkerStatus;

import java.util.List;

/** The routing window's part of the cluster's status. */
public final class ExpertLoadStatus {
    private ExpertLoadStatus() {
    }

    /** The expert workers that serve now, by node id: a layer's balance counts them even when they ran nothing. */
    public static List<String> servingExpertWorkers(List<WorkerStatus> workers) {
        return workers.stream().filter(w -> w.getRole() == Role.EXPERT_WORKER && w.getState() == WorkerState.SERVING)
                .map(WorkerStatus::getNodeId).toList();
    }

    /** {@code status} with the window's steps, each placed expert's window tokens (per replica too) and each MoE layer's worker load. */
    public static ClusterStatus withLoad(ClusterStatus status, ExpertLoad load, ModelConfig config) {
        ClusterStatus.Builder out = status.toBuilder().setWindowSteps(load.steps()).setWindowCapacity(load.capacity());
        var map = out.getShardMapBuilder();
        for (int i = 0; i < map.getPlacementsCount(); i++) {
            ExpertPlacement p = map.getPlacements(i);
            map.setPlacements(i, p.toBuilder().setWindowTokens(load.tokens(p.getLayer(), p.getExpert()))
                    .putAllReplicaWindowTokens(load.replicaTokens(p.getLayer(), p.getExpert())));
        }
        List<String> serving = servingExpertWorkers(status.getWorkersList());
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            if (config.isMoeLayer(layer)) {
                LayerBalance balance = load.balance(layer, serving);
                out.addLayerLoads(LayerLoad.newBuilder().setLayer(layer).putAllWorkerTokens(balance.perWorker())
                        .setBalancedness(balance.balancedness().orElse(0)));
            }
        }
        return out.build();
    }
}
