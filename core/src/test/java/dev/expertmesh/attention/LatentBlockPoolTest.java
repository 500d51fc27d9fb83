package dev.expertmesh.attention;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LatentBlockPoolTest {

    @Test
    void aSequenceTakesOneBlockPerBlockTokensAndGivesThemBackWhenFreed() {
        LatentBlockPool pool = new LatentBlockPool(2, 8, 4, 3);
        LatentKvCache cache = new LatentKvCache(7, pool);
        cache.reserve(5);
        assertThat(pool.freeBlocks()).isEqualTo(1);
        assertThat(cache.block(4)).isNotSameAs(cache.block(3));
        assertThat(cache.rowOffset(1, 5)).isEqualTo((4 + 1) * 8);
        cache.free();
        assertThat(pool.freeBlocks()).isEqualTo(3);
        assertThat(cache.length(0)).isZero();
    }

    @Test
    void anExhaustedPoolNamesTheSequenceThatNeededABlock() {
        LatentBlockPool pool = new LatentBlockPool(1, 8, 4, 1);
        LatentKvCache cache = new LatentKvCache(42, pool);
        assertThatThrownBy(() -> cache.reserve(5))
                .isInstanceOf(CacheExhaustedException.class)
                .hasMessageContaining("sequence 42");
    }
}
