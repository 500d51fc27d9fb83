package dev.expertmesh.demo;

import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.ExpertRoutes;
import dev.expertmesh.quantization.QuantizationPlan;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

class SkewedRoutingTest {
    private static final int TOKENS = 300;
    private static final int TOP = 4;

    @Test
    void skewedDemoSendsMostRoutedSlotsToAFewExpertsInEveryMoeLayer() {
        double[] shares = topShares(DemoModel.SKEWED_NAME);
        for (double share : shares) {
            assertTrue(share > 0.6, "the 4 hottest of 16 experts take " + share + " of the slots, expected over 60%");
        }
    }

    @Test
    void plainDemoStaysSpreadOverItsExperts() {
        double[] shares = topShares(DemoModel.NAME);
        for (double share : shares) {
            assertTrue(share < 0.5, "the 4 hottest of 16 experts take " + share + " of the slots, expected under 50%");
        }
    }

    /** Per MoE layer, the share of routed slots that its {@link #TOP} most chosen experts took over a random prompt. */
    private static double[] topShares(String model) {
        ModelConfig config = DemoModel.config();
        int experts = config.nRoutedExperts();
        long[][] counts = new long[config.numHiddenLayers()][experts];
        int[] prompt = new SplittableRandom(7).ints(TOKENS, 2, config.vocabSize()).toArray();
        try (Engine engine = Engine.create(config, DemoModel.weights(model), new CpuBackend(), DemoModel.ORIGIN, QuantizationPlan.NONE)) {
            engine.score(prompt, new LayerObserver() {
                @Override
                public void routed(int layer, ExpertRoutes routes) {
                    synchronized (counts) {
                        for (int id : routes.expertIds()) {
                            if (id >= 0 && id < experts) {
                                counts[layer][id]++;
                            }
                        }
                    }
                }
            });
        }
        return Arrays.stream(counts).skip(config.firstKDenseReplace()).mapToDouble(layer -> {
            long[] sorted = layer.clone();
            Arrays.sort(sorted);
            long top = 0;
            for (int i = 0; i < TOP; i++) {
                top += sorted[experts - 1 - i];
            }
            return (double) top / Arrays.stream(layer).sum();
        }).toArray();
    }
}
