package dev.expertmesh.cuda.stage;

import dev.expertmesh.attention.CacheExhaustedException;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DeviceBlocksTest {

    @Test
    void positionsMapToDistinctSlotsOfTheSequencesOwnBlocks() {
        DeviceBlocks blocks = new DeviceBlocks(4, 8, 2);
        blocks.grow(1, 6);
        blocks.grow(2, 9);
        blocks.grow(1, 8);
        assertThat(blocks.blocks(1)).hasSize(2);
        assertThat(blocks.blocks(2)).hasSize(3);
        Set<Integer> slots = new HashSet<>();
        for (long sequence : new long[]{1, 2}) {
            int end = sequence == 1 ? 8 : 9;
            for (int position = 0; position < end; position++) {
                int slot = blocks.slot(sequence, position);
                assertThat(blocks.blocks(sequence)).contains(slot / 4);
                assertThat(slot % 4).isEqualTo(position % 4);
                assertThat(slots.add(slot)).as("slot %d given twice", slot).isTrue();
            }
        }
    }

    @Test
    void releasedBlocksServeTheNextSequenceAndLengthsAreKeptPerLayer() {
        DeviceBlocks blocks = new DeviceBlocks(4, 2, 3);
        blocks.grow(1, 8);
        assertThat(blocks.heldBlocks()).isEqualTo(2);
        blocks.setLength(1, 2, 8);
        assertThat(blocks.length(1, 2)).isEqualTo(8);
        assertThat(blocks.length(1, 0)).isZero();
        assertThatThrownBy(() -> blocks.grow(2, 1)).isInstanceOf(CacheExhaustedException.class);
        blocks.release(1);
        assertThat(blocks.heldBlocks()).isZero();
        assertThat(blocks.length(1, 2)).isZero();
        blocks.grow(2, 8);
        assertThat(blocks.blocks(2)).containsExactlyInAnyOrder(0, 1);
    }
}
