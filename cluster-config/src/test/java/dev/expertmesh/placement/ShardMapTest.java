package dev.expertmesh.placement;

import dev.expertmesh.proto.ExpertPlacement;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ShardMapTest {
    private static final ShardMap MAP = new PlacementPolicy.Contiguous().place(Configs.v2Lite(), Workers.named("a", "b", "c"), ExpertLoads.uniform(Configs.v2Lite()))
            .withEpoch(7);

    @Test
    void protoRoundTrip() {
        dev.expertmesh.proto.ShardMap proto = MAP.toProto();

        assertThat(proto.getEpoch()).isEqualTo(7);
        assertThat(proto.getPlacementsCount()).isEqualTo(26 * 64);
        assertThat(ShardMap.fromProto(proto)).isEqualTo(MAP);
    }

    @Test
    void placementsMayArriveInAnyOrder() {
        var placements = new ArrayList<>(MAP.toProto().getPlacementsList());
        Collections.shuffle(placements, new Random(1));
        var shuffled = dev.expertmesh.proto.ShardMap.newBuilder().setEpoch(7).addAllPlacements(placements).build();

        assertThat(ShardMap.fromProto(shuffled)).isEqualTo(MAP);
    }

    @Test
    void rejectsALayerWithAGap() {
        var proto = dev.expertmesh.proto.ShardMap.newBuilder().setEpoch(2)
                .addPlacements(ExpertPlacement.newBuilder().setLayer(1).setExpert(0).addNodeIds("a"))
                .addPlacements(ExpertPlacement.newBuilder().setLayer(1).setExpert(2).addNodeIds("a"))
                .build();

        assertThatThrownBy(() -> ShardMap.fromProto(proto))
                .hasMessage("shard map epoch 2 layer 1 places experts [0, 2], not 0..1");
    }

    @Test
    void rejectsAnExpertPlacedTwiceOrNowhere() {
        var twice = dev.expertmesh.proto.ShardMap.newBuilder().setEpoch(2)
                .addPlacements(ExpertPlacement.newBuilder().setLayer(1).setExpert(0).addNodeIds("a"))
                .addPlacements(ExpertPlacement.newBuilder().setLayer(1).setExpert(0).addNodeIds("b"))
                .build();
        var nowhere = dev.expertmesh.proto.ShardMap.newBuilder().setEpoch(2)
                .addPlacements(ExpertPlacement.newBuilder().setLayer(1).setExpert(0))
                .build();

        assertThatThrownBy(() -> ShardMap.fromProto(twice)).hasMessageContaining("places layer 1 expert 0 twice");
        assertThatThrownBy(() -> ShardMap.fromProto(nowhere)).hasMessageContaining("expert 0 has no worker");
    }

    @Test
    void workersAreTheDistinctHostsInNodeIdOrder() {
        assertThat(MAP.workers()).containsExactly("a", "b", "c");
        ShardMap replicated = new PlacementPolicy.Contiguous(4).place(Configs.v2Lite(), Workers.named("c", "a"), ExpertLoads.uniform(Configs.v2Lite()));
        assertThat(replicated.workers()).containsExactly("a", "c");
    }

    @Test
    void anEpochWindowAnswersFromTheServingToTheLoadedEpoch() {
        EpochWindow window = new EpochWindow(7, 8);
        window.check(7);
        window.check(8);

        assertThatThrownBy(() -> window.check(6))
                .isInstanceOf(EpochMismatchException.class)
                .hasMessage("refused a batch of placement epoch 6; the cluster serves epoch 7 (the sender's shard map is stale)");
        assertThatThrownBy(() -> window.check(9))
                .isInstanceOf(EpochMismatchException.class)
                .hasMessage("refused a batch of placement epoch 9; this worker has loaded up to epoch 8 (it has not loaded the new map yet)");
    }
}
