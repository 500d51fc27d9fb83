package dev.expertmesh.sampling;

import dev.expertmesh.backend.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class SamplerTest {
    private final CpuBackend backend = new CpuBackend();

    /** Logits with a unique maximum at {@code argmax}, the rest within a narrow band so sampling varies. */
    private static float[] logits(int vocab, int argmax, long seed) {
        Random random = new Random(seed);
        float[] logits = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            logits[i] = (float) random.nextDouble();
        }
        logits[argmax] = 1.5f;
        return logits;
    }

    @Test
    void temperatureZeroReturnsTheArgmax() {
        float[] x = logits(50, 17, 1);
        Sampler sampler = new Sampler(new SamplingParams(0, 0, 1, null));

        for (int i = 0; i < 20; i++) {
            assertThat(sampler.sample(backend, x, 0, 50)).isEqualTo(17);
        }
    }

    @Test
    void samplesWithinTheGivenOffsetAndVocab() {
        float[] x = new float[10];
        Arrays.fill(x, -100f);
        x[2] = 5f; // outside the window
        x[7] = 1f;
        Sampler sampler = new Sampler(SamplingParams.GREEDY);

        assertThat(sampler.sample(backend, x, 4, 5)).isEqualTo(3);
    }

    @Test
    void vanishingTemperatureApproachesTheArgmaxWithoutOverflow() {
        float[] x = logits(50, 23, 6);
        Sampler sampler = new Sampler(new SamplingParams(1e-40, 0, 1, 3L));

        for (int i = 0; i < 20; i++) {
            assertThat(sampler.sample(backend, x, 0, 50)).isEqualTo(23);
        }
    }

    @Test
    void sameSeedGivesTheSameSequenceOfDraws() {
        float[] x = logits(50, 3, 2);
        SamplingParams params = new SamplingParams(1.0, 0, 1, 42L);
        Sampler first = new Sampler(params);
        Sampler second = new Sampler(params);

        int[] a = new int[200];
        int[] b = new int[200];
        for (int i = 0; i < 200; i++) {
            a[i] = first.sample(backend, x, 0, 50);
            b[i] = second.sample(backend, x, 0, 50);
        }

        assertThat(a).containsExactly(b);
        assertThat(Arrays.stream(a).distinct().count()).as("the draws vary").isGreaterThan(10);
    }

    @Test
    void topKOneReturnsTheArgmaxAtAnyTemperature() {
        float[] x = logits(50, 29, 3);
        for (double temperature : new double[]{0.1, 1, 100}) {
            Sampler sampler = new Sampler(new SamplingParams(temperature, 1, 1, 7L));
            for (int i = 0; i < 50; i++) {
                assertThat(sampler.sample(backend, x, 0, 50)).isEqualTo(29);
            }
        }
    }

    @Test
    void tinyTopPReturnsTheArgmax() {
        float[] x = logits(50, 11, 4);
        Sampler sampler = new Sampler(new SamplingParams(5.0, 0, 1e-6, 9L));

        for (int i = 0; i < 50; i++) {
            assertThat(sampler.sample(backend, x, 0, 50)).isEqualTo(11);
        }
    }

    @Test
    void topPKeepsTheSmallestPrefixReachingTheMass() {
        // Probabilities 0.5, 0.3, 0.2: top-p 0.7 keeps the first two, renormalized to 5/8 and 3/8.
        float[] x = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.2)};
        Sampler sampler = new Sampler(new SamplingParams(1.0, 0, 0.7, 5L));

        Set<Integer> seen = new HashSet<>();
        int zeros = 0;
        int draws = 20_000;
        for (int i = 0; i < draws; i++) {
            int token = sampler.sample(backend, x, 0, 3);
            seen.add(token);
            zeros += token == 0 ? 1 : 0;
        }

        assertThat(seen).containsExactlyInAnyOrder(0, 1);
        assertThat((double) zeros / draws).isCloseTo(5.0 / 8, within(0.02));
    }

    @Test
    void topKTwoDrawsInProportionToTheProbabilities() {
        float[] x = new float[20];
        Arrays.fill(x, Float.NEGATIVE_INFINITY);
        x[0] = (float) Math.log(3);
        x[1] = (float) Math.log(1);
        Sampler sampler = new Sampler(new SamplingParams(1.0, 2, 1, 11L));

        int[] counts = new int[20];
        int draws = 20_000;
        for (int i = 0; i < draws; i++) {
            counts[sampler.sample(backend, x, 0, 20)]++;
        }

        // The binomial standard deviation is about 0.003: 0.02 is over six of them.
        assertThat((double) counts[0] / draws).isCloseTo(0.75, within(0.02));
        assertThat((double) counts[1] / draws).isCloseTo(0.25, within(0.02));
        assertThat(counts[0] + counts[1]).isEqualTo(draws);
    }

    @Test
    void temperatureSharpensTheDistribution() {
        float[] x = {(float) Math.log(3), 0f};
        Sampler sampler = new Sampler(new SamplingParams(0.5, 0, 1, 13L));

        int zeros = 0;
        int draws = 20_000;
        for (int i = 0; i < draws; i++) {
            zeros += sampler.sample(backend, x, 0, 2) == 0 ? 1 : 0;
        }

        // Temperature 1/2 squares the odds: 9 to 1.
        assertThat((double) zeros / draws).isCloseTo(0.9, within(0.02));
    }
}
