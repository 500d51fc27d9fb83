package dev.expertmesh.coordinator.dispatch;

import dev.expertmesh.Fixtures;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertRoutes;
import dev.expertmesh.placement.HostedExperts;
import dev.expertmesh.proto.HiddenType;
import dev.expertmesh.transport.Peer;
import dev.expertmesh.transport.TransportOptions;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/** How the expert stage spreads tokens over replicas, and what it sends again when a worker fails. */
class ReplicaDispatchTest {
    /** tiny-v2-lite: layers 1..3 are MoE layers of 16 routed experts, and a shared expert (id 16). */
    private static final ModelConfig CONFIG = ModelConfig.load(Fixtures.model("tiny-v2-lite"));
    private static final int LAYER = 1;
    private static final int SHARED = 16;

    private static ExpertPeer worker(String name, int... experts) {
        return new ExpertPeer(Peer.of(name, "127.0.0.1", 1, 2), new HostedExperts(Map.of(1, experts, 2, experts, 3, experts)));
    }

    private static RemoteExpertStage stage(DispatchPlan plan) {
        return new RemoteExpertStage(CONFIG, plan, TransportOptions.DEFAULT.withHiddenType(HiddenType.FP32), ExpertFailover.REPLICAS);
    }

    private static int[] all() {
        return IntStream.range(0, 16).toArray();
    }

    @Test
    void aReplicatedExpertsTokensSplitEvenlyOverItsReplicas() {
        DispatchPlan plan = DispatchPlan.of(CONFIG, 1, List.of(worker("a", all()), worker("b", all())));
        int tokens = 9;
        int[] ids = new int[tokens];
        Arrays.fill(ids, 3);
        try (RemoteExpertStage stage = stage(plan)) {
            RemoteExpertStage.Shares shares = stage.split(plan, LAYER, new ExpertRoutes(tokens, 1, ids, new float[tokens]), 0);
            assertThat(shares.rows()).containsExactly(5, 4);
            assertThat(stage.split(plan, LAYER, new ExpertRoutes(tokens, 1, ids, new float[tokens]), 0).workerOfSlot())
                    .as("the same batch goes the same way").containsExactly(shares.workerOfSlot());
        }
    }

    @Test
    void routedLoadCountsEachWorkersSlotsPerExpertWithoutTheSharedOne() {
        DispatchPlan plan = DispatchPlan.of(CONFIG, 1, List.of(worker("a", 0, 1, 2, 3), worker("b", 3, 4, 5, 6)));
        // Two tokens: experts 0 and 4, then 3 (on both) and 4; the shared expert rides along.
        ExpertRoutes routes = new ExpertRoutes(2, 3, new int[]{0, 4, SHARED, 3, 4, SHARED}, new float[6]);
        try (RemoteExpertStage stage = stage(plan)) {
            int[][] load = stage.split(plan, LAYER, routes, 0).routedLoad(routes, 16);
            assertThat(load[0][0]).isEqualTo(1);
            assertThat(load[1][4]).isEqualTo(2);
            assertThat(load[0][3] + load[1][3]).as("expert 3 ran once, on one of its replicas").isEqualTo(1);
            assertThat(load[1][3]).as("on b, which carries that token already").isEqualTo(1);
            assertThat(Arrays.stream(load).flatMapToInt(Arrays::stream).sum()).as("the shared expert left out").isEqualTo(4);
        }
    }

    @Test
    void singleTokensTakeTheReplicasInTurn() {
        DispatchPlan plan = DispatchPlan.of(CONFIG, 1, List.of(worker("a", all()), worker("b", all()), worker("c", all())));
        ExpertRoutes one = new ExpertRoutes(1, 1, new int[]{3}, new float[]{1});
        try (RemoteExpertStage stage = stage(plan)) {
            assertThat(IntStream.range(0, 6).map(turn -> stage.split(plan, LAYER, one, turn).workerOfSlot()[0]))
                    .containsExactly(0, 1, 2, 0, 1, 2);
        }
    }

    @Test
    void aDenseLayersSingleTokensTakeTheWorkersInTurn() {
        DispatchPlan plan = DispatchPlan.of(CONFIG, 1, List.of(worker("a", all()), worker("b", all())));
        ExpertRoutes dense = ExpertRoutes.everyToken(1, 0);
        try (RemoteExpertStage stage = stage(plan)) {
            assertThat(IntStream.range(0, 4).map(turn -> stage.split(plan, 0, dense, turn).workerOfSlot()[0]))
                    .containsExactly(0, 1, 0, 1);
            assertThat(stage.split(plan, 0, ExpertRoutes.everyToken(4, 0), 1).rows()).as("a batch still splits evenly")
                    .containsExactly(2, 2);
        }
    }

    @Test
    void aTokenGoesOnceToAReplicaItAlreadyRidesWithItsSharedExpert() {
        DispatchPlan plan = DispatchPlan.of(CONFIG, 1, List.of(worker("a", all()), worker("b", 0, 1, 2, 3, 4, 5, 6, 7)));
        // One token: expert 9 (on a alone), expert 3 (on both), the shared expert.
        ExpertRoutes routes = new ExpertRoutes(1, 3, new int[]{9, 3, SHARED}, new float[]{0.5f, 0.25f, 1f});
        try (RemoteExpertStage stage = stage(plan)) {
            RemoteExpertStage.Shares shares = stage.split(plan, LAYER, routes, 0);
            assertThat(shares.rows()).containsExactly(1, 0);
            assertThat(shares.workerOfSlot()).containsExactly(0, 0, 0);
        }
    }

    @Test
    void whatAFailedWorkerWasSentGoesAgainToTheReplicasLeft() {
        DispatchPlan plan = DispatchPlan.of(CONFIG, 1, List.of(worker("a", all()), worker("b", all())));
        // Two tokens: the second lands on b for expert 5 and rides there with its shared expert.
        ExpertRoutes routes = new ExpertRoutes(2, 2, new int[]{4, SHARED, 5, SHARED}, new float[]{1, 1, 1, 1});
        try (RemoteExpertStage stage = stage(plan)) {
            RemoteExpertStage.Shares shares = stage.split(plan, LAYER, routes, 0);
            assertThat(shares.workerOfSlot()).containsExactly(0, 0, 1, 1);

            ExpertRoutes again = shares.routesOf(Set.of(1), routes);
            assertThat(again.expertIds()).containsExactly(-1, -1, 5, SHARED);
            DispatchPlan left = ExpertFailover.REPLICAS.recover(plan, Set.of(plan.workers().get(1).peer()), null);
            RemoteExpertStage.Shares resent = stage.split(left, LAYER, again, 0);
            assertThat(resent.rows()).containsExactly(1);
            assertThat(resent.workerOfSlot()).containsExactly(-1, -1, 0, 0);
        }
    }

    @Test
    void anExpertOnlyTheFailedWorkerHeldLeavesThePlanUncovered() {
        DispatchPlan plan = DispatchPlan.of(CONFIG, 1, List.of(worker("a", 0, 1, 2, 3, 4, 5, 6, 7), worker("b", 8, 9, 10, 11, 12, 13, 14, 15)));
        DispatchPlan left = plan.without(Set.of(plan.workers().get(1).peer()));
        assertThat(left.uncovered()).hasSize(3 * 8).first().isEqualTo("layer 1 expert 8");
        assertThat(left.workers()).extracting(w -> w.peer().name()).containsExactly("a");
    }
}
