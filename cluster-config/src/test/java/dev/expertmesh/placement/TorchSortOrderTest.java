package dev.expertmesh.placement;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** Orders as libstdc++'s std::sort leaves them with torch's descending comparator (printed by a C++ program). */
class TorchSortOrderTest {

    @Test
    void upToSixteenItemsSortStably() {
        assertThat(TorchSortOrder.descending(new float[]{1, 3, 2, 3, 1})).containsExactly(1, 3, 2, 0, 4);
    }

    @Test
    void moreThanSixteenEqualItemsComeOutOfOrder() {
        float[] equal = new float[20];
        Arrays.fill(equal, 5);

        assertThat(TorchSortOrder.descending(equal)).containsExactly(10, 19, 18, 17, 16, 15, 14, 13, 12, 11, 0, 9, 8, 7, 6, 5, 4, 3, 2, 1);
    }

    @Test
    void tiesAmongManyItemsFallAsInTorch() {
        float[] values = {3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1};

        assertThat(TorchSortOrder.descending(values)).containsExactly(3, 18, 6, 9, 0, 12, 15, 2, 5, 17, 8, 11, 14, 10, 19, 16, 13, 7, 4, 1);
    }
}
