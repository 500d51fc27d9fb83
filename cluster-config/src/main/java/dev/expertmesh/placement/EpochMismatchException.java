package dev.expertmesh.placement;

/** A batch stamped with a shard map epoch outside the ones the worker answers for. */
public final class EpochMismatchException extends IllegalStateException {
    EpochMismatchException(EpochWindow window, long requested) {
        super(requested < window.serving()
                ? "refused a batch of placement epoch " + requested + "; the cluster serves epoch " + window.serving()
                        + " (the sender's shard map is stale)"
                : "refused a batch of placement epoch " + requested + "; this worker has loaded up to epoch " + window.loaded()
                        + " (it has not loaded the new map yet)");
    }
}
