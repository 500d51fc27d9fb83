package dev.expertmesh.cuda.stage;

import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.cuda.runtime.DeviceBuffer;
import dev.expertmesh.cuda.runtime.DeviceWeight;
import dev.expertmesh.cuda.runtime.Gpu;
import dev.expertmesh.cuda.runtime.GpuQueue;
import dev.expertmesh.tensor.Weight;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The CPU backend with its large matrix products run through cuBLAS: what runs between the stages (the
 * routers' gates and lm_head on a coordinator), and every product of core's stages when a worker
 * runs them on a GPU. Each weight goes up on first use and stays. Products too small to pay for
 * the round trip, and the vector operations, stay on the CPU.
 */
public final class CudaBackend extends CpuBackend implements AutoCloseable {
    /** Multiply-adds below which a product is cheaper on the CPU than a GPU round trip (about 20 µs). */
    private static final long GPU_THRESHOLD = 1L << 20;
    private final GpuQueue queue;
    private final Map<WeightKey, DeviceWeight> uploaded = new HashMap<>();

    /** A weight's identity: where its bytes are (slices of one tensor are different weights). */
    private record WeightKey(long address, long bytes) {
        static WeightKey of(Weight w) {
            return new WeightKey(w.data().address(), w.data().byteSize());
        }
    }

    public CudaBackend(Gpu gpu) {
        this.queue = new GpuQueue(gpu);
    }

    @Override
    public void matmul(Weight w, float[] x, int xOffset, int batch, float[] out, int outOffset) {
        if ((long) w.rows() * w.cols() * batch < GPU_THRESHOLD) {
            super.matmul(w, x, xOffset, batch, out, outOffset);
            return;
        }
        float[] result = gpuMatmul(w, x, xOffset, batch);
        System.arraycopy(result, 0, out, outOffset, result.length);
    }

    private synchronized float[] gpuMatmul(Weight w, float[] x, int xOffset, int batch) {
        queue.begin();
        DeviceWeight weight = uploaded.computeIfAbsent(WeightKey.of(w), key -> DeviceWeight.upload(queue.gpu(), w));
        int n = batch * w.cols();
        float[] rows = xOffset == 0 && x.length == n ? x : Arrays.copyOfRange(x, xOffset, xOffset + n);
        DeviceBuffer input = queue.upload("x", rows);
        DeviceBuffer inputBf16 = queue.bf16s("x_bf16", n);
        queue.toBf16(input.address(), inputBf16.address(), n);
        DeviceBuffer out = queue.floats("out", (long) batch * w.rows());
        queue.linear(weight, inputBf16.address(), w.cols(), batch, out.address());
        return queue.downloadFloats(out.address(), batch * w.rows());
    }

    @Override
    public synchronized void close() {
        queue.begin();
        uploaded.values().forEach(w -> w.free(queue.gpu()));
        uploaded.clear();
        queue.close();
    }
}
