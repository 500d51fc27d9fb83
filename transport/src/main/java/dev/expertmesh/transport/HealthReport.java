package dev.expertmesh.transport;

import dev.expertmesh.proto.Role;
import dev.expertmesh.proto.WorkerHealth;
import dev.expertmesh.proto.WorkerState;
import org.apache.arrow.flight.FlightProducer.StreamListener;
import org.apache.arrow.flight.Result;

/**
 * What a worker's Flight server answers to the "health" action: the state its node last set, and
 * LOADING until the node has joined the cluster. Read without locks, so that a probe never waits on
 * a shard map being loaded.
 */
public final class HealthReport {
    private final Role role;
    private volatile WorkerHealth current;

    public HealthReport(Role role) {
        this.role = role;
        this.current = WorkerHealth.newBuilder().setRole(role).setState(WorkerState.LOADING).build();
    }

    public void set(String nodeId, WorkerState state, long epoch) {
        current = WorkerHealth.newBuilder().setRole(role).setNodeId(nodeId).setState(state).setEpoch(epoch).build();
    }

    public WorkerHealth current() {
        return current;
    }

    /** Answers a "health" action with the current state. */
    public void answer(StreamListener<Result> listener) {
        listener.onNext(new Result(current.toByteArray()));
        listener.onCompleted();
    }
}
