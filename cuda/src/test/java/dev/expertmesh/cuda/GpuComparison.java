package dev.expertmesh.cuda;

import dev.expertmesh.cuda.binding.CudaDriver;
import dev.expertmesh.cuda.binding.CudaException;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.LayerObserver;

import java.util.Arrays;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** What the gpu-tagged tests share: skipping without a GPU, and how far a bf16 GPU engine may stray from the CPU one. */
public final class GpuComparison {
    /**
     * The bf16 latent cache alone moves the fixtures' logits by up to about 1.2% relative (host
     * emulation of the kernels); the 1e-2 is met by each layer, not end to end.
     */
    public static final double LOGITS_TOLERANCE = 2e-2;

    private GpuComparison() {
    }

    /** Skips the calling test, with the reason, on a machine without a CUDA device. */
    public static void assumeAGpu() {
        String why;
        try {
            why = CudaDriver.load().deviceCount() > 0 ? null : "the driver sees no CUDA device";
        } catch (CudaException noDriver) {
            why = noDriver.getMessage();
        }
        assumeTrue(why == null, "no CUDA device on this machine (" + why + "); a GPU test: cuda/gpu-check.sh runs it on a GPU machine");
    }

    /**
     * How many of the reference's greedy steps come before the first whose top-1 margin is at most
     * twice the largest logit difference between the engines (both scoring the reference's tokens):
     * up to there the GPU must choose the same tokens; after, bf16 may rightly choose another.
     */
    public static int decidedSteps(Engine reference, Engine gpu, int[] prompt, int[] tokens) {
        int[] sequence = IntStream.concat(Arrays.stream(prompt), Arrays.stream(tokens)).toArray();
        float[] expected = reference.score(sequence, LayerObserver.NONE);
        float[] actual = gpu.score(sequence, LayerObserver.NONE);
        int vocab = expected.length / sequence.length;
        for (int step = 0; step < tokens.length; step++) {
            int row = (prompt.length - 1 + step) * vocab;
            float best = Float.NEGATIVE_INFINITY;
            float second = Float.NEGATIVE_INFINITY;
            float difference = 0;
            for (int v = 0; v < vocab; v++) {
                float logit = expected[row + v];
                if (logit > best) {
                    second = best;
                    best = logit;
                } else if (logit > second) {
                    second = logit;
                }
                difference = Math.max(difference, Math.abs(logit - actual[row + v]));
            }
            if (best - second <= 2 * difference) {
                return step;
            }
        }
        return tokens.length;
    }
}
