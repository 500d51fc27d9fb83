package dev.expertmesh.moe;

import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.DType;
import dev.expertmesh.model.ScoringFunction;
import dev.expertmesh.tensor.Weight;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class RouterTest {
    private final CpuBackend backend = new CpuBackend();

    /** An n×n identity gate, so the router logits are the hidden state itself. */
    private static Weight identityGate(int n) {
        MemorySegment data = Arena.ofAuto().allocate((long) n * n * Float.BYTES, 64);
        for (int i = 0; i < n; i++) {
            data.setAtIndex(Weight.F32, (long) i * n + i, 1f);
        }
        return new Weight("gate", data, DType.F32, n, n);
    }

    /** The logit whose sigmoid is p. */
    private static float logit(double p) {
        return (float) Math.log(p / (1 - p));
    }

    @Test
    void noAuxTcWeighsChosenExpertsByUnbiasedScoresNormalizedAndScaled() {
        double[] scores = {0.95, 0.05, 0.6, 0.55, 0.5, 0.3, 0.1, 0.1};
        float[] bias = {0f, 0f, 0f, 0f, 0f, 0.5f, 0f, 0f};
        float[] x = new float[8];
        for (int i = 0; i < 8; i++) {
            x[i] = logit(scores[i]);
        }
        Router router = new Router(identityGate(8), ScoringFunction.SIGMOID, new Routing.NoAuxTc(4, 2, bias), 2, true, 2.5f);

        ExpertRoutes routes = router.route(backend, x, 1);

        assertThat(routes.expertIds()).containsExactly(5, 2);
        double sum = scores[5] + scores[2];
        assertThat((double) routes.weights()[0]).isCloseTo(2.5 * scores[5] / sum, within(1e-5));
        assertThat((double) routes.weights()[1]).isCloseTo(2.5 * scores[2] / sum, within(1e-5));
    }

    @Test
    void softmaxGreedyWeighsBySoftmaxScoresScaledWithoutNormalizing() {
        float[] x = {
                0.5f, 2f, -1f, 1f, 0f, // token 0 picks experts 1 and 3
                3f, -2f, 0f, 0f, 2.5f, // token 1 picks experts 0 and 4
        };
        Router router = new Router(identityGate(5), ScoringFunction.SOFTMAX, new Routing.Greedy(), 2, false, 16f);

        ExpertRoutes routes = router.route(backend, x, 2);

        assertThat(routes.tokens()).isEqualTo(2);
        assertThat(routes.expertIds()).containsExactly(1, 3, 0, 4);
        double[] expected = new double[4];
        int[][] picks = {{1, 3}, {0, 4}};
        for (int t = 0; t < 2; t++) {
            double z = 0;
            for (int e = 0; e < 5; e++) {
                z += Math.exp(x[t * 5 + e]);
            }
            for (int j = 0; j < 2; j++) {
                expected[t * 2 + j] = 16 * Math.exp(x[t * 5 + picks[t][j]]) / z;
            }
        }
        for (int i = 0; i < 4; i++) {
            assertThat((double) routes.weights()[i]).as("weight %d", i).isCloseTo(expected[i], within(1e-5));
        }
    }

    @Test
    void sigmoidScoresWithoutNormalizingAreTheScoresTimesTheScalingFactor() {
        double[] scores = {0.2, 0.7, 0.4, 0.9};
        float[] x = new float[4];
        for (int i = 0; i < 4; i++) {
            x[i] = logit(scores[i]);
        }
        Router router = new Router(identityGate(4), ScoringFunction.SIGMOID, new Routing.Greedy(), 2, false, 1f);

        ExpertRoutes routes = router.route(backend, x, 1);

        assertThat(routes.expertIds()).containsExactly(3, 1);
        assertThat((double) routes.weights()[0]).isCloseTo(0.9, within(1e-6));
        assertThat((double) routes.weights()[1]).isCloseTo(0.7, within(1e-6));
    }
}
