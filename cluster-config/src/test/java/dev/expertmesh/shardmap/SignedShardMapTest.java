package dev.expertmesh.shardmap;

import dev.expertmesh.membership.ClusterMember;
import dev.expertmesh.membership.ClusterSecret;
import dev.expertmesh.membership.TestCluster;
import dev.expertmesh.placement.Configs;
import dev.expertmesh.placement.ExpertLoads;
import dev.expertmesh.placement.PlacementPolicy;
import dev.expertmesh.placement.ShardMap;
import dev.expertmesh.placement.Workers;
import dev.expertmesh.proto.NodeDescriptor;
import dev.expertmesh.proto.Role;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static dev.expertmesh.membership.TestCluster.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A cluster with a secret over real Hazelcast members: members without it, or with another, join the
 * Hazelcast cluster but are never seen as nodes, never placed, and cannot make a map be served.
 */
class SignedShardMapTest {
    private static final ClusterSecret SECRET = ClusterSecret.of("test", "the cluster's own 32-byte secret".getBytes(StandardCharsets.UTF_8));
    private static final ClusterSecret OTHER = ClusterSecret.of("test", "an intruder's guess at the secret".getBytes(StandardCharsets.UTF_8));

    @Test
    void workersWithoutTheSecretJoinHazelcastButAreNeverPlaced() throws InterruptedException {
        try (var cluster = new TestCluster(4)) {
            ClusterMember coordinator = cluster.start(0, Role.COORDINATOR, SECRET);
            try (var store = new ShardMapStore(coordinator);
                 var keeper = ShardMapKeeper.start(coordinator, store, Configs.v2Lite(), new PlacementPolicy.Contiguous(),
                         () -> ExpertLoads.uniform(Configs.v2Lite()))) {
                ClusterMember unsigned = cluster.start(1, Role.EXPERT_WORKER);
                ClusterMember wrong = cluster.start(2, Role.EXPERT_WORKER, OTHER);
                ClusterMember signed = cluster.start(3, Role.EXPERT_WORKER, SECRET);
                await(Duration.ofSeconds(10), "all four in the Hazelcast cluster", () -> coordinator.hazelcast().getCluster().getMembers().size() == 4);
                await(Duration.ofSeconds(10), "a map over the signed worker", () -> store.current().isPresent());
                // Joins are seen one by one: give the keeper time to place the others too, were it to.
                Thread.sleep(1000);

                assertThat(store.current().orElseThrow().workers()).containsExactly(signed.nodeId());
                assertThat(coordinator.members()).extracting(NodeDescriptor::getNodeId)
                        .containsExactlyInAnyOrder(coordinator.nodeId(), signed.nodeId())
                        .doesNotContain(unsigned.nodeId(), wrong.nodeId());
                assertThat(unsigned.members()).as("a member without a secret still accepts everyone, as before")
                        .extracting(NodeDescriptor::getNodeId).contains(coordinator.nodeId(), unsigned.nodeId(), signed.nodeId());
            }
        }
    }

    @Test
    void aMapWrittenWithoutTheSecretIsNeitherServedNorLoaded() throws InterruptedException {
        try (var cluster = new TestCluster(3)) {
            ClusterMember coordinator = cluster.start(0, Role.COORDINATOR, SECRET);
            ClusterMember worker = cluster.start(1, Role.EXPERT_WORKER, SECRET);
            ClusterMember intruder = cluster.start(2, Role.EXPERT_WORKER, OTHER);
            try (var coordinatorStore = new ShardMapStore(coordinator); var workerStore = new ShardMapStore(worker);
                 var intruderStore = new ShardMapStore(intruder)) {
                BlockingQueue<ShardMap> loaded = new LinkedBlockingQueue<>();
                workerStore.subscribe(loaded::add);
                ShardMap real = coordinatorStore.publish(placement(worker.nodeId()));
                assertThat(loaded.poll(10, TimeUnit.SECONDS)).isEqualTo(real);

                intruderStore.publish(placement(intruder.nodeId()));
                intruderStore.flip(99);

                assertThat(loaded.poll(1, TimeUnit.SECONDS)).as("a forged map reaches no worker").isNull();
                assertThat(workerStore.current()).as("nor is it read as the current one").isEmpty();
                assertThat(workerStore.serving()).as("nor its serving epoch").isEqualTo(ShardMap.UNPUBLISHED);
                ShardMap again = coordinatorStore.publish(placement(worker.nodeId()));
                assertThat(again.epoch()).as("the next real epoch follows the last real one").isEqualTo(real.epoch() + 1);
                assertThat(loaded.poll(10, TimeUnit.SECONDS)).isEqualTo(again);
            }
        }
    }

    @Test
    void aSignedMapWrittenBackOverNewerOnesIsNeverServedAgain() throws InterruptedException {
        try (var cluster = new TestCluster(2)) {
            ClusterMember coordinator = cluster.start(0, Role.COORDINATOR, SECRET);
            ClusterMember worker = cluster.start(1, Role.EXPERT_WORKER, SECRET);
            try (var store = new ShardMapStore(coordinator)) {
                store.publish(placement(worker.nodeId()));
                byte[] old = coordinator.hazelcast().<String, byte[]>getMap(ShardMapStore.MAP).get(ShardMapStore.KEY);
                ShardMap served = store.publish(placement(worker.nodeId()));
                store.flip(served.epoch());

                coordinator.hazelcast().<String, byte[]>getMap(ShardMapStore.MAP).set(ShardMapStore.KEY, old);
                try (var restarted = new ShardMapStore(coordinator)) {
                    assertThat(restarted.current()).as("a replayed map older than the serving epoch").isEmpty();
                    assertThat(restarted.publish(placement(worker.nodeId())).epoch())
                            .as("a store that never read the newer maps still moves past them").isEqualTo(served.epoch() + 1);
                }
            }
        }
    }

    private static ShardMap placement(String worker) {
        return new PlacementPolicy.Contiguous().place(Configs.v2Lite(), Workers.named(worker), ExpertLoads.uniform(Configs.v2Lite()));
    }
}
