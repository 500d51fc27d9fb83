package dev.expertmesh.cuda.stage;

import dev.expertmesh.moe.ExpertRoutes;

import java.util.Arrays;

/**
 * Where each (row, expert) pair of a step's routes goes once rows are grouped by expert: expert
 * e's rows are gathered rows [firstRow(e), firstRow(e) + count(e)), in row order. {@code sourceRows}
 * says which input row each gathered row is, {@code slots} which gathered row each route slot
 * reads (-1 for an empty slot): moe_gather's and moe_combine's index arrays.
 */
record RowPlan(int[] counts, int[] firstRows, int[] sourceRows, int[] slots) {

    static RowPlan of(ExpertRoutes routes, int experts) {
        int[] ids = routes.expertIds();
        int[] counts = new int[experts];
        for (int id : ids) {
            if (id >= 0) {
                counts[id]++;
            }
        }
        int[] firstRows = new int[experts];
        for (int e = 1; e < experts; e++) {
            firstRows[e] = firstRows[e - 1] + counts[e - 1];
        }
        int[] next = firstRows.clone();
        int[] sourceRows = new int[ids.length - (int) Arrays.stream(ids).filter(id -> id < 0).count()];
        int[] slots = new int[ids.length];
        for (int slot = 0; slot < ids.length; slot++) {
            int id = ids[slot];
            if (id < 0) {
                slots[slot] = -1;
                continue;
            }
            int row = next[id]++;
            sourceRows[row] = slot / routes.k();
            slots[slot] = row;
        }
        return new RowPlan(counts, firstRows, sourceRows, slots);
    }

    int count(int expert) {
        return counts[expert];
    }

    int firstRow(int expert) {
        return firstRows[expert];
    }

    int gatheredRows() {
        return sourceRows.length;
    }
}
