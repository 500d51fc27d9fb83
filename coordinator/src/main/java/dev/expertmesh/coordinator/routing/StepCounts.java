package dev.expertmesh.coordinator.routing;

/**
 * One step's non-zero counts, by cell (layer × routed experts + expert): sparse, since a step's
 * tokens reach few of the cells a large model has, and the window keeps one of these per step.
 *
 * @param cells  ascending
 * @param counts the count of each cell
 */
public record StepCounts(int[] cells, long[] counts) {
    public static final StepCounts EMPTY = new StepCounts(new int[0], new long[0]);

    public long total() {
        long sum = 0;
        for (long c : counts) {
            sum += c;
        }
        return sum;
    }
}
