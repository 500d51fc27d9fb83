package dev.expertmesh.coordinator.dispatch;

import dev.expertmesh.transport.Peer;
import dev.expertmesh.transport.PeerFailureException;

import java.util.Set;

/** What the expert stage does when workers fail a call: the plan to re-send their share on. */
@FunctionalInterface
public interface ExpertFailover {

    /**
     * A plan without {@code gone} that holds every expert, waiting (bounded) for survivors to load
     * what only the gone workers held; {@code cause} is the first failure, to throw when none comes.
     */
    DispatchPlan recover(DispatchPlan failed, Set<Peer> gone, PeerFailureException cause);

    /** Reroutes to the replicas left, and fails the call when some expert has none. */
    ExpertFailover REPLICAS = (failed, gone, cause) -> {
        DispatchPlan left = failed.without(gone);
        if (!left.uncovered().isEmpty() || left.workers().isEmpty()) {
            throw cause;
        }
        return left;
    };
}
