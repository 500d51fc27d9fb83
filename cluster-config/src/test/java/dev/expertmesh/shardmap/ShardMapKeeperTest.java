package dev.expertmesh.shardmap;

import dev.expertmesh.membership.ClusterMember;
import dev.expertmesh.membership.TestCluster;
import dev.expertmesh.placement.Configs;
import dev.expertmesh.placement.ExpertLoads;
import dev.expertmesh.placement.PlacementPolicy;
import dev.expertmesh.placement.ShardMap;
import dev.expertmesh.placement.Workers;
import dev.expertmesh.proto.Role;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static dev.expertmesh.membership.TestCluster.await;
import static org.assertj.core.api.Assertions.assertThat;

class ShardMapKeeperTest {

    private static ShardMap next(BlockingQueue<ShardMap> seen) throws InterruptedException {
        ShardMap map = seen.poll(10, TimeUnit.SECONDS);
        assertThat(map).as("a shard map within 10 s").isNotNull();
        return map;
    }

    private static List<Integer> range(int from, int toExclusive) {
        return IntStream.range(from, toExclusive).boxed().toList();
    }

    @Test
    void republishesWhenExpertWorkersJoinOrLeave() throws InterruptedException {
        try (var cluster = new TestCluster(4)) {
            ClusterMember coordinator = cluster.start(0, Role.COORDINATOR);
            try (var coordinatorStore = new ShardMapStore(coordinator);
                 var keeper = ShardMapKeeper.start(coordinator, coordinatorStore, Configs.v2Lite(),
                         new PlacementPolicy.Contiguous(), () -> ExpertLoads.uniform(Configs.v2Lite()))) {
                ClusterMember attention = cluster.start(1, Role.ATTENTION_WORKER);
                await(Duration.ofSeconds(5), "the attention worker joins", () -> coordinator.members().size() == 2);
                assertThat(coordinatorStore.current()).as("no map without expert workers").isEmpty();

                ClusterMember first = cluster.start(2, Role.EXPERT_WORKER);
                try (var workerStore = new ShardMapStore(first)) {
                    BlockingQueue<ShardMap> seen = new LinkedBlockingQueue<>();
                    workerStore.subscribe(seen::add);

                    ShardMap one = next(seen);
                    assertThat(one.epoch()).isEqualTo(1);
                    assertThat(one.expertsOf(first.nodeId(), 1)).isEqualTo(range(0, 64));
                    assertThat(one.expertsOf(attention.nodeId(), 1)).isEmpty();

                    ClusterMember second = cluster.start(3, Role.EXPERT_WORKER);
                    ShardMap two = next(seen);
                    assertThat(two.epoch()).isEqualTo(2);
                    List<String> ordered = List.of(first.nodeId(), second.nodeId()).stream().sorted().toList();
                    assertThat(two.expertsOf(ordered.get(0), 26)).isEqualTo(range(0, 32));
                    assertThat(two.expertsOf(ordered.get(1), 26)).isEqualTo(range(32, 64));

                    second.close();
                    ShardMap three = next(seen);
                    assertThat(three.epoch()).isEqualTo(3);
                    assertThat(three.expertsOf(first.nodeId(), 1)).isEqualTo(range(0, 64));
                    assertThat(coordinatorStore.current()).contains(three);
                    assertThat(seen).as("one map per change of expert workers").isEmpty();
                }
            }
        }
    }

    @Test
    void fencedAndDrainingWorkersAreLeftOut() throws InterruptedException {
        try (var cluster = new TestCluster(4)) {
            ClusterMember coordinator = cluster.start(0, Role.COORDINATOR);
            try (var store = new ShardMapStore(coordinator);
                 var keeper = ShardMapKeeper.start(coordinator, store, Configs.v2Lite(), new PlacementPolicy.Contiguous(64),
                         () -> ExpertLoads.uniform(Configs.v2Lite()))) {
                BlockingQueue<ShardMap> seen = new LinkedBlockingQueue<>();
                store.subscribe(seen::add);
                List<ClusterMember> workers = List.of(cluster.start(1, Role.EXPERT_WORKER), cluster.start(2, Role.EXPERT_WORKER),
                        cluster.start(3, Role.EXPERT_WORKER));
                await(Duration.ofSeconds(10), "a map over the three workers", () -> store.current().map(m -> m.workers().size() == 3).orElse(false));
                List<String> ids = workers.stream().map(ClusterMember::nodeId).sorted().toList();
                ShardMap all = store.current().orElseThrow();
                // 64 replicas over 3 workers: every expert on two of them.
                assertThat(all.workersOf(1, 0)).hasSize(2);
                seen.clear();

                ShardMap withoutFenced = keeper.fence(ids.get(0)).orElseThrow();
                assertThat(withoutFenced.workers()).containsExactly(ids.get(1), ids.get(2));
                assertThat(withoutFenced.epoch()).isGreaterThan(all.epoch());
                assertThat(next(seen)).isEqualTo(withoutFenced);
                assertThat(keeper.fence(ids.get(0))).as("fencing twice publishes nothing new").contains(withoutFenced);

                ClusterMember draining = workers.stream().filter(w -> w.nodeId().equals(ids.get(1))).findFirst().orElseThrow();
                draining.announceDraining();
                ShardMap afterDrain = next(seen);
                assertThat(afterDrain.workers()).containsExactly(ids.get(2));
                assertThat(afterDrain.expertsOf(ids.get(2), 1)).isEqualTo(range(0, 64));
            }
        }
    }

    @Test
    void theServingEpochOnlyGrowsAndReachesSubscribers() throws InterruptedException {
        try (var cluster = new TestCluster(2)) {
            ClusterMember coordinator = cluster.start(0, Role.COORDINATOR);
            ClusterMember worker = cluster.start(1, Role.EXPERT_WORKER);
            try (var coordinatorStore = new ShardMapStore(coordinator); var workerStore = new ShardMapStore(worker)) {
                assertThat(workerStore.serving()).isEqualTo(ShardMap.UNPUBLISHED);
                BlockingQueue<Long> flips = new LinkedBlockingQueue<>();
                workerStore.subscribeServing(flips::add);
                coordinatorStore.flip(3);
                coordinatorStore.flip(2);
                coordinatorStore.flip(5);
                // A subscriber may join after 3 already gave way to 5; what it sees only grows, and ends at 5.
                List<Long> seen = new ArrayList<>();
                while (seen.isEmpty() || seen.getLast() != 5) {
                    Long epoch = flips.poll(10, TimeUnit.SECONDS);
                    assertThat(epoch).as("a flip within 10 s after %s", seen).isNotNull();
                    seen.add(epoch);
                }
                assertThat(seen).isSubsetOf(3L, 5L).isSorted();
                assertThat(workerStore.serving()).isEqualTo(5);
                assertThat(flips.poll(200, TimeUnit.MILLISECONDS)).as("an older epoch is never a flip").isNull();
            }
        }
    }

    @Test
    void epochsOnlyGrow() {
        try (var cluster = new TestCluster(1)) {
            ClusterMember member = cluster.start(0, Role.COORDINATOR);
            try (var store = new ShardMapStore(member)) {
                ShardMap placement = new PlacementPolicy.Contiguous().place(Configs.v2Lite(), Workers.named("a"), ExpertLoads.uniform(Configs.v2Lite()));

                assertThat(store.publish(placement.withEpoch(41)).epoch()).isEqualTo(1);
                assertThat(store.publish(placement).epoch()).isEqualTo(2);
                assertThat(store.current()).contains(placement.withEpoch(2));
            }
        }
    }
}
