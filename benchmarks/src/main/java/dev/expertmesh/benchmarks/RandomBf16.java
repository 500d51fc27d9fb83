package dev.expertmesh.benchmarks;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/**
 * Random BF16 weights of magnitude in [2^-7, 2^-6) with random sign and mantissa: small enough
 * that activations stay finite through any number of layers, and cheap to make (four weights per
 * random long), since the synthetic model holds over a billion of them.
 */
final class RandomBf16 {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Keeps each BF16's sign and mantissa bits; the exponent is then set to 2^-7. */
    private static final long SIGN_AND_MANTISSA = 0x807F_807F_807F_807FL;
    private static final long EXPONENT = 0x3C00_3C00_3C00_3C00L;

    private RandomBf16() {
    }

    /** Fills {@code segment} (a whole number of 8-byte words) with random BF16 values. */
    static void fill(MemorySegment segment, SplittableRandom random) {
        if (segment.byteSize() % Long.BYTES != 0) {
            throw new IllegalArgumentException("random BF16 fill needs a multiple of 8 bytes, got " + segment.byteSize());
        }
        for (long at = 0; at < segment.byteSize(); at += Long.BYTES) {
            segment.set(LONG, at, (random.nextLong() & SIGN_AND_MANTISSA) | EXPONENT);
        }
    }
}
