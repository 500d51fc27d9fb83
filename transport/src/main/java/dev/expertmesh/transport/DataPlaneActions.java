package dev.expertmesh.transport;

/** The DoAction types of attention workers. */
public final class DataPlaneActions {
    /** Body: ReleaseSequences. Frees the sequences' latent cache blocks; no result. */
    public static final String RELEASE = "release";
    /** No body. One result: AttentionCapacity. */
    public static final String CAPACITY = "capacity";

    private DataPlaneActions() {
    }
}
