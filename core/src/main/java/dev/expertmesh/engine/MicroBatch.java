package dev.expertmesh.engine;

import dev.expertmesh.attention.SequenceChunk;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;

/** Whole chunks of a step's batch, rows [firstRow, firstRow + rows) of it, that go through the layers together. */
record MicroBatch(int index, List<SequenceChunk> chunks, int firstRow, int rows) {

    /**
     * The chunks in at most {@code count} consecutive groups of about equal rows, each chunk in the
     * group its first row falls in, so a long prefill chunk does not share a group with the decode
     * chunks after it. A sequence with several chunks in the step stays in one micro-batch, its
     * positions in order: the whole batch is then one.
     */
    static List<MicroBatch> split(List<SequenceChunk> chunks, int count) {
        int total = chunks.stream().mapToInt(SequenceChunk::length).sum();
        boolean oneChunkPerSequence = new HashSet<>(chunks.stream().map(SequenceChunk::sequenceId).toList()).size() == chunks.size();
        if (count == 1 || !oneChunkPerSequence) {
            return List.of(new MicroBatch(0, chunks, 0, total));
        }
        List<MicroBatch> batches = new ArrayList<>(count);
        List<SequenceChunk> group = new ArrayList<>();
        int groupOf = 0;
        int firstRow = 0;
        int row = 0;
        for (SequenceChunk chunk : chunks) {
            int chunkGroup = (int) ((long) row * count / total);
            if (chunkGroup != groupOf && !group.isEmpty()) {
                batches.add(new MicroBatch(batches.size(), List.copyOf(group), firstRow, row - firstRow));
                group.clear();
                firstRow = row;
            }
            groupOf = chunkGroup;
            group.add(chunk);
            row += chunk.length();
        }
        batches.add(new MicroBatch(batches.size(), List.copyOf(group), firstRow, row - firstRow));
        return batches;
    }
}
