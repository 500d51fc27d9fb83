package dev.expertmesh.tensor;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class E4m3Test {

    @Test
    void decodesTheOcpTableSAnchors() {
        assertThat(E4m3.toFloat((byte) 0x38)).isEqualTo(1f);
        assertThat(E4m3.toFloat((byte) 0x7E)).isEqualTo(448f);
        assertThat(E4m3.toFloat((byte) 0x01)).isEqualTo(0x1p-9f);
        assertThat(E4m3.toFloat((byte) 0x08)).isEqualTo(0x1p-6f);
        assertThat(E4m3.toFloat((byte) 0xC4)).isEqualTo(-3f);
        assertThat(E4m3.toFloat((byte) 0x7F)).isNaN();
        assertThat(E4m3.toFloat((byte) 0xFF)).isNaN();
    }

    @Test
    void everyFiniteCodeRoundTrips() {
        for (int code = 0; code < 256; code++) {
            if ((code & 0x7F) == 0x7F) {
                continue;
            }
            assertThat(E4m3.fromFloat(E4m3.toFloat((byte) code)) & 0xFF).as("code %02x", code).isEqualTo(code);
        }
    }

    @Test
    void roundsToNearestTiesToEvenAndSaturates() {
        assertThat(E4m3.fromFloat(1.0625f)).isEqualTo((byte) 0x38);
        assertThat(E4m3.fromFloat(1.1875f)).isEqualTo((byte) 0x3A);
        assertThat(E4m3.fromFloat(1.07f)).isEqualTo((byte) 0x39);
        assertThat(E4m3.fromFloat(0x1p-10f)).isEqualTo((byte) 0x00);
        assertThat(E4m3.fromFloat(0x1.8p-9f)).isEqualTo((byte) 0x02);
        assertThat(E4m3.fromFloat(1e6f)).isEqualTo((byte) 0x7E);
        assertThat(E4m3.fromFloat(-1e6f)).isEqualTo((byte) 0xFE);
        assertThat(E4m3.fromFloat(Float.NaN)).isEqualTo((byte) 0x7F);
    }
}
