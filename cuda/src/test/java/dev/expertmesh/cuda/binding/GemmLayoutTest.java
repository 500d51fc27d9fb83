package dev.expertmesh.cuda.binding;

import dev.expertmesh.Fixtures;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.DType;
import dev.expertmesh.cuda.runtime.Bf16;
import dev.expertmesh.cuda.runtime.Gemms;
import dev.expertmesh.tensor.Weight;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The stages' row-major products as cuBLAS calls, run by a stand-in libcublas that computes
 * cuBLAS's column-major GEMMs on host memory (src/test/c/fake_cublas.c), against core's CPU
 * backend doing what MlaAttention does: the layouts and the FFM calls, without a GPU.
 */
class GemmLayoutTest {
    private static final CpuBackend CPU = new CpuBackend();
    @TempDir
    static Path dir;
    private static Cublas cublas;
    private final Arena arena = Arena.ofAuto();
    private final Random random = new Random(5);

    @BeforeAll
    static void buildTheStandIn() throws IOException, InterruptedException {
        String library = StandIns.build("fake_cublas", dir).toString();
        cublas = Cublas.create(MemorySegment.NULL, List.of(library), List.of(library));
    }

    /** n random values rounded to bf16, as floats. */
    private float[] bf16Values(int n) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = Weight.bf16ToFloat(Bf16.round((float) random.nextGaussian()));
        }
        return values;
    }

    private MemorySegment bf16(float[] values) {
        MemorySegment segment = arena.allocate(values.length * 2L, 8);
        for (int i = 0; i < values.length; i++) {
            segment.setAtIndex(Weight.BF16, i, Bf16.round(values[i]));
        }
        return segment;
    }

    private MemorySegment floats(int n) {
        return arena.allocate(ValueLayout.JAVA_FLOAT, n);
    }

    @Test
    void aLinearLayerOverStridedRowsIsTheCpuBackendsMatmul() {
        int out = 5;
        int in = 7;
        int stride = 9;
        int rows = 3;
        MemorySegment w = bf16(bf16Values(out * in));
        float[] x = bf16Values(rows * stride);
        MemorySegment y = floats(rows * out);
        Gemms.timesTranspose(cublas, 1, rows, Gemms.Rows.bf16(bf16(x).address(), stride, 0),
                new Gemms.Matrices(w.address(), 0, out, in), Gemms.Rows.f32(y.address(), out, 0));

        float[] expected = new float[rows * out];
        Weight weight = new Weight("w", w, DType.BF16, out, in);
        for (int r = 0; r < rows; r++) {
            CPU.matmul(weight, x, r * stride, 1, expected, r * out);
        }
        assertThat(Fixtures.relativeError(y.toArray(ValueLayout.JAVA_FLOAT), expected)).isLessThan(1e-6);
    }

    @Test
    void absorbedDecodeProductsAreMlaAttentionsPerHeadProducts() {
        int heads = 3;
        int nope = 4;
        int rope = 2;
        int qk = nope + rope;
        int vDim = 5;
        int perHead = nope + vDim;
        int rank = 6;
        int rows = 2;
        MemorySegment kvB = bf16(bf16Values(heads * perHead * rank));
        Weight kvBWeight = new Weight("kv_b_proj", kvB, DType.BF16, heads * perHead, rank);
        float[] q = bf16Values(rows * heads * qk);
        float[] latentOut = bf16Values(rows * heads * rank);
        MemorySegment qLatent = floats(rows * heads * rank);
        MemorySegment attended = floats(rows * heads * vDim);

        Gemms.times(cublas, heads, rows, Gemms.Rows.bf16(bf16(q).address(), heads * qk, qk),
                new Gemms.Matrices(kvB.address(), (long) perHead * rank, nope, rank), Gemms.Rows.f32(qLatent.address(), heads * rank, rank));
        Gemms.timesTranspose(cublas, heads, rows, Gemms.Rows.bf16(bf16(latentOut).address(), heads * rank, rank),
                new Gemms.Matrices(kvB.address() + (long) nope * rank * 2, (long) perHead * rank, vDim, rank),
                Gemms.Rows.f32(attended.address(), heads * vDim, vDim));

        float[] expectedLatent = new float[rows * heads * rank];
        float[] expectedAttended = new float[rows * heads * vDim];
        for (int r = 0; r < rows; r++) {
            for (int h = 0; h < heads; h++) {
                CPU.matmulTransposed(kvBWeight.rowSlice(h * perHead, nope), q, (r * heads + h) * qk,
                        expectedLatent, (r * heads + h) * rank);
                CPU.matmul(kvBWeight.rowSlice(h * perHead + nope, vDim), latentOut, (r * heads + h) * rank, 1,
                        expectedAttended, (r * heads + h) * vDim);
            }
        }
        assertThat(Fixtures.relativeError(qLatent.toArray(ValueLayout.JAVA_FLOAT), expectedLatent)).isLessThan(1e-6);
        assertThat(Fixtures.relativeError(attended.toArray(ValueLayout.JAVA_FLOAT), expectedAttended)).isLessThan(1e-6);
    }
}
