package dev.expertmesh.attention;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CacheBlocksTest {

    @Test
    void positionsMapToDistinctSlotsOfTheSequencesOwnBlocks() {
        CacheBlocks blocks = new CacheBlocks(2, 4, 8);
        blocks.write(0, List.of(new SequenceChunk(1, 0, 6), new SequenceChunk(2, 0, 9)));
        blocks.write(0, List.of(new SequenceChunk(1, 6, 2)));
        assertThat(blocks.blocks(1)).hasSize(2);
        assertThat(blocks.blocks(2)).hasSize(3);
        Set<Integer> slots = new HashSet<>();
        for (long sequence : new long[]{1, 2}) {
            for (int position = 0; position < blocks.length(sequence, 0); position++) {
                int slot = blocks.slot(sequence, position);
                assertThat(blocks.blocks(sequence)).contains(slot / 4);
                assertThat(slot % 4).isEqualTo(position % 4);
                assertThat(slots.add(slot)).as("slot %d given twice", slot).isTrue();
            }
        }
        assertThat(blocks.held().usedBlocks()).isEqualTo(5);
    }

    @Test
    void releasedBlocksServeTheNextSequenceAndLengthsAreKeptPerLayer() {
        CacheBlocks blocks = new CacheBlocks(3, 4, 2);
        blocks.write(2, List.of(new SequenceChunk(1, 0, 8)));
        assertThat(blocks.held().usedBlocks()).isEqualTo(2);
        assertThat(blocks.length(1, 2)).isEqualTo(8);
        assertThat(blocks.length(1, 0)).isZero();
        blocks.release(1);
        assertThat(blocks.held().usedBlocks()).isZero();
        assertThat(blocks.length(1, 2)).isZero();
        blocks.write(0, List.of(new SequenceChunk(2, 0, 8)));
        assertThat(blocks.blocks(2)).containsExactlyInAnyOrder(0, 1);
    }

    @Test
    void anExhaustedPoolNamesTheSequenceThatNeededABlockAndHandsOutNone() {
        CacheBlocks blocks = new CacheBlocks(1, 4, 2);
        assertThatThrownBy(() -> blocks.write(0, List.of(new SequenceChunk(41, 0, 4), new SequenceChunk(42, 0, 5))))
                .isInstanceOf(CacheExhaustedException.class)
                .hasMessageContaining("sequence 42");
        assertThat(blocks.held().usedBlocks()).isZero();
        assertThat(blocks.length(41, 0)).isZero();
    }

    @Test
    void rewritingPositionsReusesTheBlocksHeldAndDropsThoseAfter() {
        CacheBlocks blocks = new CacheBlocks(2, 4, 8);
        blocks.write(0, List.of(new SequenceChunk(1, 0, 10)));
        blocks.write(1, List.of(new SequenceChunk(1, 0, 10)));
        int[] held = blocks.blocks(1);
        blocks.write(0, List.of(new SequenceChunk(1, 3, 2)));
        assertThat(blocks.length(1, 0)).isEqualTo(5);
        assertThat(blocks.length(1, 1)).as("another layer's positions").isEqualTo(10);
        blocks.write(0, List.of(new SequenceChunk(1, 0, 10)));
        assertThat(blocks.blocks(1)).containsExactly(held);
        assertThat(blocks.held().usedBlocks()).isEqualTo(3);
    }

    @Test
    void aChunkStartingBeyondTheWrittenPositionsIsRefusedWithNothingChanged() {
        CacheBlocks blocks = new CacheBlocks(1, 4, 8);
        blocks.write(0, List.of(new SequenceChunk(1, 0, 3)));
        assertThatThrownBy(() -> blocks.write(0, List.of(new SequenceChunk(2, 0, 4), new SequenceChunk(1, 4, 1))))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("sequence 1 has 3 cached tokens in layer 0 but the chunk starts at 4");
        assertThat(blocks.length(2, 0)).isZero();
        assertThat(blocks.held().usedBlocks()).isEqualTo(1);
    }

    @Test
    void reservationsCountBlocksSetAsideWhateverIsHeld() {
        CacheBlocks blocks = new CacheBlocks(1, 4, 10, 3);
        assertThat(blocks.reserved().usedBlocks()).as("blocks held elsewhere").isEqualTo(3);
        assertThat(blocks.reserve(1, 9)).isTrue();
        assertThat(blocks.reserve(1, 5)).as("within what is set aside").isTrue();
        assertThat(blocks.reserve(2, 17)).as("5 blocks of the 4 free").isFalse();
        assertThat(blocks.reserve(2, 16)).isTrue();
        assertThat(blocks.reserved()).isEqualTo(new CacheUsage(4, 10, 10));
        assertThat(blocks.held().usedBlocks()).isEqualTo(3);
        blocks.write(0, List.of(new SequenceChunk(1, 0, 9)));
        blocks.release(1);
        assertThat(blocks.reserved().usedBlocks()).isEqualTo(7);
        assertThat(blocks.held().usedBlocks()).isEqualTo(3);
        assertThat(blocks.blocks(1)).isEmpty();
    }
}
