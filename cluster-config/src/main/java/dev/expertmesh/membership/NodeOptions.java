package dev.expertmesh.membership;

/**
 * Where a node serves and how it joins: its data-plane (or API) endpoint and its Hazelcast member.
 *
 * @param host   the address it listens on and advertises to the cluster
 * @param port     the Flight port of a worker (its actions), the gRPC port of the coordinator (0: any free port)
 * @param dataPort a worker's data-plane port (0: any free port); the coordinator has none
 * @param member   how its embedded Hazelcast member joins
 */
public record NodeOptions(String host, int port, int dataPort, MemberSettings member) {
    public NodeOptions {
        checkPort("port", port);
        checkPort("data-port", dataPort);
    }

    /** Any free data-plane port. */
    public NodeOptions(String host, int port, MemberSettings member) {
        this(host, port, 0, member);
    }

    private static void checkPort(String key, int port) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(key + " " + port + " is not in 0..65535");
        }
    }
}
