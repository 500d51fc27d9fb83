package dev.expertmesh.membership;

import java.util.List;

/**
 * How a node's embedded Hazelcast member finds the cluster.
 *
 * @param clusterName     members with a different name never join, so two clusters can share a network
 * @param bindHost        the address Hazelcast binds to and advertises
 * @param port            the first port tried; the member moves up when it is taken
 * @param members         "host:port" addresses contacted to join (TCP/IP only: multicast is off)
 * @param heartbeatIntervalSeconds how often members ping each other
 * @param maxNoHeartbeatSeconds    silence after which a member is declared dead; this bounds how long a killed
 *                                 worker stays in the shard map
 * @param secret          signs this member's descriptor and shard maps, and admits only those of members that share it
 */
public record MemberSettings(
        String clusterName,
        String bindHost,
        int port,
        List<String> members,
        int heartbeatIntervalSeconds,
        int maxNoHeartbeatSeconds,
        ClusterSecret secret) {

    public static final int DEFAULT_PORT = 5701;
    /** Hazelcast's own default (60 s) would keep a crashed worker's experts routed to it for a minute. */
    public static final int DEFAULT_HEARTBEAT_INTERVAL_SECONDS = 1;
    public static final int DEFAULT_MAX_NO_HEARTBEAT_SECONDS = 10;

    public MemberSettings {
        if (clusterName == null || clusterName.isBlank()) {
            throw new IllegalArgumentException("cluster name must not be blank");
        }
        if (bindHost == null || bindHost.isBlank()) {
            throw new IllegalArgumentException("bind host must not be blank");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("Hazelcast port " + port + " is not in 1..65535");
        }
        members = List.copyOf(members);
        if (heartbeatIntervalSeconds < 1 || maxNoHeartbeatSeconds <= heartbeatIntervalSeconds) {
            throw new IllegalArgumentException("heartbeat every " + heartbeatIntervalSeconds + " s with a timeout of "
                    + maxNoHeartbeatSeconds + " s: the interval must be at least 1 s and shorter than the timeout");
        }
    }

    public MemberSettings(String clusterName, String bindHost, int port, List<String> members, int heartbeatIntervalSeconds,
                          int maxNoHeartbeatSeconds) {
        this(clusterName, bindHost, port, members, heartbeatIntervalSeconds, maxNoHeartbeatSeconds, ClusterSecret.NONE);
    }

    public MemberSettings(String clusterName, String bindHost, int port, List<String> members) {
        this(clusterName, bindHost, port, members, DEFAULT_HEARTBEAT_INTERVAL_SECONDS, DEFAULT_MAX_NO_HEARTBEAT_SECONDS);
    }

    public MemberSettings withSecret(ClusterSecret clusterSecret) {
        return new MemberSettings(clusterName, bindHost, port, members, heartbeatIntervalSeconds, maxNoHeartbeatSeconds, clusterSecret);
    }
}
