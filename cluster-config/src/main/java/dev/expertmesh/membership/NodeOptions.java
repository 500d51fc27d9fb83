package dev.expertmesh.membership;

/**
 * Where a node serves and how it joins: its data-plane (or API) endpoint and its Hazelcast member.
 *
 * @param host   the address it listens on and advertises to the cluster
 * @param port   the Flight port of a worker, the gRPC port of the coordinator (0: any free port)
 * @param member how its embedded Hazelcast member joins
 */
public record NodeOptions(String host, int port, MemberSettings member) {
    public NodeOptions {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is not in 0..65535");
        }
    }
}
