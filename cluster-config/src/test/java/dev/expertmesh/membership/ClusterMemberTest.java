package dev.expertmesh.membership;

import dev.expertmesh.proto.NodeDescriptor;
import dev.expertmesh.proto.Role;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.expertmesh.membership.TestCluster.await;
import static org.assertj.core.api.Assertions.assertThat;

class ClusterMemberTest {

    private static List<String> ids(List<NodeDescriptor> nodes) {
        return nodes.stream().map(NodeDescriptor::getNodeId).toList();
    }

    @Test
    void membersSeeEachOtherAndAGracefulDeparture() {
        try (var cluster = new TestCluster(3)) {
            ClusterMember coordinator = cluster.start(0, Role.COORDINATOR);
            List<List<NodeDescriptor>> seen = new CopyOnWriteArrayList<>();
            coordinator.subscribe(seen::add);
            ClusterMember worker1 = cluster.start(1, Role.EXPERT_WORKER);
            ClusterMember worker2 = cluster.start(2, Role.EXPERT_WORKER);
            List<ClusterMember> all = List.of(coordinator, worker1, worker2);

            for (ClusterMember member : all) {
                await(Duration.ofSeconds(5), member.nodeId() + " sees all three",
                        () -> member.members().size() == 3);
                assertThat(member.members()).containsExactlyInAnyOrderElementsOf(
                        all.stream().map(ClusterMember::descriptor).toList());
            }
            assertThat(coordinator.descriptor().getNodeId())
                    .isEqualTo(coordinator.hazelcast().getCluster().getLocalMember().getUuid().toString());
            assertThat(worker1.descriptor().getRole()).isEqualTo(Role.EXPERT_WORKER);
            assertThat(worker1.descriptor().getPort()).isEqualTo(47001);
            await(Duration.ofSeconds(5), "the coordinator's listener hears both joins",
                    () -> !seen.isEmpty() && seen.getLast().size() == 3);

            long start = System.nanoTime();
            worker2.close();
            await(Duration.ofSeconds(3), "worker 2's departure seen",
                    () -> coordinator.members().size() == 2 && worker1.members().size() == 2
                            && seen.getLast().size() == 2);
            assertThat(ids(coordinator.members())).containsExactlyInAnyOrder(coordinator.nodeId(), worker1.nodeId());
            // A node's shutdown path and its try-with-resources may both close it.
            worker2.close();
            System.out.printf("graceful departure seen in %d ms%n", (System.nanoTime() - start) / 1_000_000);
        }
    }

    @Test
    void killedMemberLeavesTheCoordinatorsViewWithinTheHeartbeatTimeout() {
        try (var cluster = new TestCluster(2)) {
            ClusterMember coordinator = cluster.start(0, Role.COORDINATOR);
            ClusterMember worker = cluster.start(1, Role.EXPERT_WORKER);
            await(Duration.ofSeconds(5), "the worker joins", () -> coordinator.members().size() == 2);

            long start = System.nanoTime();
            worker.hazelcast().getLifecycleService().terminate();
            await(Duration.ofSeconds(TestCluster.HEARTBEAT_TIMEOUT_SECONDS + 2), "the killed worker is dropped",
                    () -> coordinator.members().size() == 1);
            assertThat(ids(coordinator.members())).containsExactly(coordinator.nodeId());
            await(Duration.ofSeconds(2), "its descriptor is deleted",
                    () -> coordinator.hazelcast().getMap(ClusterMember.DESCRIPTORS).size() == 1);
            System.out.printf("killed member dropped in %d ms%n", (System.nanoTime() - start) / 1_000_000);
        }
    }
}
