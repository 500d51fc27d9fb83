package dev.expertmesh.coordinator.dispatch;

import dev.expertmesh.placement.HostedExperts;
import dev.expertmesh.transport.Peer;

/** An expert worker, by its cluster node id and how it is reached, and the routed experts it hosts. */
public record ExpertPeer(String nodeId, Peer peer, HostedExperts experts) {

    /** A worker outside a Hazelcast cluster (data-plane tests, benchmarks): its peer name is its id. */
    public ExpertPeer(Peer peer, HostedExperts experts) {
        this(peer.name(), peer, experts);
    }
}
