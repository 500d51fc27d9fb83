package dev.expertmesh.shardmap;

/** A request stamped with a shard map epoch other than the one the worker has loaded. */
public final class EpochMismatchException extends RuntimeException {
    private final long loaded;
    private final long requested;

    EpochMismatchException(long loaded, long requested) {
        super(requested < loaded
                ? "shard map epoch " + loaded + " expected, request has " + requested + ": the coordinator's map is out of date"
                : "shard map epoch " + loaded + " loaded, request has " + requested + ": this worker has not loaded the new map yet");
        this.loaded = loaded;
        this.requested = requested;
    }

    public long loaded() {
        return loaded;
    }

    public long requested() {
        return requested;
    }
}
