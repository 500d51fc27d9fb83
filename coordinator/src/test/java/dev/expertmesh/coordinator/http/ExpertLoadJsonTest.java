package dev.expertmesh.coordinator.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.expertmesh.proto.ClusterStatus;
import dev.expertmesh.proto.ExpertPlacement;
import dev.expertmesh.proto.LayerLoad;
import dev.expertmesh.proto.Role;
import dev.expertmesh.proto.ShardMap;
import dev.expertmesh.proto.WorkerState;
import dev.expertmesh.proto.WorkerStatus;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ExpertLoadJsonTest {

    @Test
    void eachLayersExpertsAreIndexedByExpertWhateverTheShardMapsOrder() {
        ClusterStatus status = ClusterStatus.newBuilder()
                .setShardMap(ShardMap.newBuilder().setEpoch(4)
                        .addPlacements(placement(1, 1, 7)).addPlacements(placement(1, 0, 3)).addPlacements(placement(1, 2, 0)))
                .setServingEpoch(3).setWindowSteps(12).setWindowCapacity(1000)
                .addLayerLoads(LayerLoad.newBuilder().setLayer(1).putWorkerTokens("b", 4).putWorkerTokens("a", 6).setBalancedness(2 / 3.0))
                .addWorkers(WorkerStatus.newBuilder().setNodeId("a").setRole(Role.EXPERT_WORKER).setState(WorkerState.SERVING))
                .build();

        JsonNode json = ExpertLoadJson.of(status);

        assertThat(json.get("epoch").asLong()).isEqualTo(4);
        assertThat(json.get("serving_epoch").asLong()).isEqualTo(3);
        assertThat(json.get("window_steps").asLong()).isEqualTo(12);
        JsonNode layer = json.get("layers").get(0);
        assertThat(layer.get("layer").asInt()).isEqualTo(1);
        assertThat(layer.get("experts").toString()).isEqualTo("[3,7,0]");
        assertThat(layer.get("workers").toString()).isEqualTo("{\"a\":6,\"b\":4}");
        assertThat(json.get("workers").toString()).isEqualTo("[{\"node_id\":\"a\",\"role\":\"EXPERT_WORKER\",\"state\":\"SERVING\"}]");
    }

    private static ExpertPlacement placement(int layer, int expert, long windowTokens) {
        return ExpertPlacement.newBuilder().setLayer(layer).setExpert(expert).setWindowTokens(windowTokens).build();
    }
}
