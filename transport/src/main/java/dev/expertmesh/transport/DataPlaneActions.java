package dev.expertmesh.transport;

/** The DoAction types of the workers. */
public final class DataPlaneActions {
    /** Attention workers. Body: ReleaseSequences. Frees the sequences' latent cache blocks; no result. */
    public static final String RELEASE = "release";
    /** Attention workers. No body. One result: AttentionCapacity. */
    public static final String CAPACITY = "capacity";
    /** Expert and attention workers. No body. One result: WorkerHealth. */
    public static final String HEALTH = "health";

    private DataPlaneActions() {
    }
}
