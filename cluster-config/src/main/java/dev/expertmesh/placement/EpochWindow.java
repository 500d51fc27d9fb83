package dev.expertmesh.placement;

/**
 * The shard-map epochs an expert worker answers for: from the one the coordinator serves with up to the newest
 * it has loaded. While a new map is being loaded both ends hold experts, so batches of either epoch are
 * answered; once the coordinator has flipped to the new one, the old is refused, so a coordinator or a worker
 * that fell behind (frozen, cut off) can never act on experts that have moved.
 */
public record EpochWindow(long serving, long loaded) {
    public EpochWindow {
        if (serving > loaded && loaded != ShardMap.UNPUBLISHED) {
            throw new IllegalArgumentException("serving epoch " + serving + " is past the loaded epoch " + loaded);
        }
    }

    public boolean contains(long epoch) {
        return epoch >= serving && epoch <= loaded;
    }

    /** A worker's check on each batch: work planned against another map would reach the wrong experts. */
    public void check(long epoch) {
        if (!contains(epoch)) {
            throw new EpochMismatchException(this, epoch);
        }
    }
}
