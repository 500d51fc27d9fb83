package dev.expertmesh.cuda.runtime;

import dev.expertmesh.tensor.Weight;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class Bf16Test {

    @Test
    void roundsToTheNearestBf16TiesToEven() {
        Random random = new Random(3);
        for (int i = 0; i < 100_000; i++) {
            float x = Float.intBitsToFloat(random.nextInt());
            if (Float.isNaN(x) || Float.isInfinite(x) || Math.abs(x) > 3e38f) {
                continue;
            }
            short bits = Bf16.round(x);
            float rounded = Weight.bf16ToFloat(bits);
            float below = Weight.bf16ToFloat((short) (Float.floatToRawIntBits(x) >>> 16));
            float above = Weight.bf16ToFloat((short) ((Float.floatToRawIntBits(x) >>> 16) + 1));
            double error = Math.abs((double) rounded - x);
            assertThat(error).as("%s", x).isLessThanOrEqualTo(Math.min(Math.abs((double) below - x), Math.abs((double) above - x)));
            if (Math.abs((double) below - x) == Math.abs((double) above - x)) {
                assertThat(bits & 1).as("tie at %s goes to even", x).isZero();
            }
        }
        assertThat(Float.isNaN(Weight.bf16ToFloat(Bf16.round(Float.NaN)))).isTrue();
        assertThat(Weight.bf16ToFloat(Bf16.round(1f))).isEqualTo(1f);
    }
}
