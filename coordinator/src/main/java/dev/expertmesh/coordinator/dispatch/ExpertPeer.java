package dev.expertmesh.coordinator.dispatch;

import dev.expertmesh.placement.HostedExperts;
import dev.expertmesh.transport.Peer;

/** An expert worker and the routed experts it hosts. */
public record ExpertPeer(Peer peer, HostedExperts experts) {
}
