package dev.expertmesh.cuda.stage;

import dev.expertmesh.Fixtures;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.cuda.GpuComparison;
import dev.expertmesh.cuda.runtime.Gpu;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.tensor.Weight;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The backend a cluster node computes with on --device cuda, against the CPU's. Needs a CUDA device. */
@Tag("gpu")
class CudaBackendTest {

    @Test
    void largeProductsRunOnTheGpuInBf16AndSmallOnesStayOnTheCpu() {
        GpuComparison.assumeAGpu();
        Path dir = Fixtures.model("tiny-v2-lite");
        ModelConfig config = ModelConfig.load(dir);
        Random random = new Random(2);
        try (TensorSource weights = Checkpoint.open(dir); Arena arena = Arena.ofConfined(); Gpu gpu = Gpu.open(0);
             CudaBackend backend = new CudaBackend(gpu)) {
            Weight embed = Weight.of(weights.tensor("model.embed_tokens.weight", config.vocabSize(), config.hiddenSize()), arena);
            for (int rows : new int[]{1, 64}) {
                float[] x = new float[3 + rows * embed.cols()];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) random.nextGaussian();
                }
                float[] actual = new float[5 + rows * embed.rows()];
                float[] expected = new float[actual.length];
                backend.matmul(embed, x, 3, rows, actual, 5);
                boolean onGpu = (long) rows * embed.rows() * embed.cols() >= 1 << 20;
                (onGpu ? new Bf16GemmBackend() : new CpuBackend()).matmul(embed, x, 3, rows, expected, 5);
                assertThat(Fixtures.relativeError(actual, expected)).as("%d rows", rows).isLessThan(1e-6);
                assertThat(actual[4]).isZero();
            }
        }
    }
}
