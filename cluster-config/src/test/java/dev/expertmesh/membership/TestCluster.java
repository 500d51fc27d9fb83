package dev.expertmesh.membership;

import dev.expertmesh.proto.NodeDescriptor;
import dev.expertmesh.proto.Role;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.fail;

/** Hazelcast members on loopback for one test: its own cluster name and ports, short heartbeats. */
public final class TestCluster implements AutoCloseable {
    public static final int HEARTBEAT_TIMEOUT_SECONDS = 4;
    // Each test takes fresh ports so that a member still leaving from the previous test is never contacted.
    private static final AtomicInteger NEXT_PORT = new AtomicInteger(15701);

    private final String name = "expertmesh-test-" + UUID.randomUUID();
    private final List<String> addresses;
    private final List<ClusterMember> started = new ArrayList<>();

    public TestCluster(int size) {
        int first = NEXT_PORT.getAndAdd(size + 2);
        addresses = IntStream.range(first, first + size).mapToObj(port -> "127.0.0.1:" + port).toList();
    }

    public ClusterMember start(int index, Role role) {
        return start(index, role, ClusterSecret.NONE);
    }

    /** A member signing with {@code secret}, and admitting only what is signed with it. */
    public ClusterMember start(int index, Role role, ClusterSecret secret) {
        var settings = new MemberSettings(name, "127.0.0.1", port(index), addresses, 1, HEARTBEAT_TIMEOUT_SECONDS).withSecret(secret);
        var member = ClusterMember.start(settings, NodeDescriptor.newBuilder()
                .setRole(role)
                .setHost("127.0.0.1")
                .setPort(47000 + index)
                .setDevice("cpu")
                .setWeightMemoryBytes(1L << 30)
                .build());
        started.add(member);
        return member;
    }

    private int port(int index) {
        String address = addresses.get(index);
        return Integer.parseInt(address.substring(address.indexOf(':') + 1));
    }

    /** Polls {@code condition} until it holds, failing after {@code limit}. */
    public static void await(Duration limit, String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("not within " + limit + ": " + what);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted waiting for " + what);
            }
        }
    }

    /** Shuts down the members a test left running; one it killed has nothing left to shut down. */
    @Override
    public void close() {
        started.reversed().stream()
                .filter(member -> member.hazelcast().getLifecycleService().isRunning())
                .forEach(ClusterMember::close);
    }
}
