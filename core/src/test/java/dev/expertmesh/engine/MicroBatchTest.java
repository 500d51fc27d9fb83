package dev.expertmesh.engine;

import dev.expertmesh.attention.SequenceChunk;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class MicroBatchTest {

    @Test
    void aLongPrefillChunkIsAMicroBatchOfItsOwn() {
        List<MicroBatch> batches = MicroBatch.split(List.of(chunk(0, 512), chunk(1, 1), chunk(2, 1)), 2);
        assertThat(batches).containsExactly(
                new MicroBatch(0, List.of(chunk(0, 512)), 0, 512),
                new MicroBatch(1, List.of(chunk(1, 1), chunk(2, 1)), 512, 2));
    }

    @Test
    void decodeChunksSplitIntoConsecutiveGroupsOfAboutEqualRows() {
        List<SequenceChunk> chunks = List.of(chunk(0, 1), chunk(1, 1), chunk(2, 1), chunk(3, 1), chunk(4, 1));
        assertThat(MicroBatch.split(chunks, 2)).containsExactly(
                new MicroBatch(0, chunks.subList(0, 3), 0, 3),
                new MicroBatch(1, chunks.subList(3, 5), 3, 2));
        assertThat(MicroBatch.split(chunks, 3)).extracting(MicroBatch::rows).containsExactly(2, 2, 1);
    }

    @Test
    void fewerChunksThanMicroBatchesGiveOneMicroBatchEach() {
        assertThat(MicroBatch.split(List.of(chunk(0, 1), chunk(1, 1)), 3)).extracting(MicroBatch::rows).containsExactly(1, 1);
        assertThat(MicroBatch.split(List.of(chunk(0, 7)), 3)).containsExactly(new MicroBatch(0, List.of(chunk(0, 7)), 0, 7));
    }

    @Test
    void aSequenceWithTwoChunksKeepsTheBatchWhole() {
        List<SequenceChunk> chunks = List.of(new SequenceChunk(0, 0, 4), chunk(1, 4), new SequenceChunk(0, 4, 4));
        assertThat(MicroBatch.split(chunks, 2)).containsExactly(new MicroBatch(0, chunks, 0, 12));
    }

    private static SequenceChunk chunk(long sequenceId, int length) {
        return new SequenceChunk(sequenceId, 0, length);
    }
}
