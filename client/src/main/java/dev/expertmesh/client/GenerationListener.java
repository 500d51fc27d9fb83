package dev.expertmesh.client;

/**
 * Receives one asynchronous generation: deltas as they arrive, then either its finish or an error
 * (a cancelled generation ends with an error whose code is {@code CANCELLED}). Calls come one at a
 * time, from gRPC's threads: a listener must not block.
 */
public interface GenerationListener {
    void onDelta(GenerationDelta delta);

    void onFinish(Finish finish);

    void onError(ExpertMeshException error);
}
