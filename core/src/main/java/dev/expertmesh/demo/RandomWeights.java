package dev.expertmesh.demo;

import dev.expertmesh.checkpoint.DType;
import dev.expertmesh.checkpoint.Tensor;
import dev.expertmesh.checkpoint.TensorInfo;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.tensor.Weight;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;

/**
 * BF16 weights made on request, off the heap: whatever tensor a loader asks for comes back in the
 * shape asked, filled from a generator seeded by the seed and the tensor's name, so the same model
 * appears at every start. Scales follow the usual initialization: norms near 1, matrices with
 * unit-variance outputs.
 */
public final class RandomWeights implements TensorSource {
    /** Values a generator fills: blocks make the fill parallel and the values independent of thread count. */
    private static final int BLOCK = 1 << 20;
    private static final double UNIT_VARIANCE_BOUND = Math.sqrt(3);

    private final long seed;
    private final Arena arena = Arena.ofShared();
    private final List<TensorInfo> made = new CopyOnWriteArrayList<>();

    public RandomWeights(long seed) {
        this.seed = seed;
    }

    @Override
    public Tensor tensor(String name, long... shape) {
        long count = 1;
        for (long d : shape) {
            count *= d;
        }
        MemorySegment data = arena.allocate(count * 2, 64);
        double center = shape.length == 1 && !name.endsWith("bias") ? 1.0 : 0.0;
        double scale = scale(name, shape);
        long n = count;
        long nameSeed = seed * 31 + name.hashCode();
        IntStream.range(0, (int) ((n + BLOCK - 1) / BLOCK)).parallel().forEach(block -> {
            SplittableRandom random = new SplittableRandom(nameSeed * 1_000_003L + block);
            for (long i = (long) block * BLOCK; i < Math.min(n, (long) (block + 1) * BLOCK); i++) {
                float value = (float) (center + scale * random.nextDouble(-UNIT_VARIANCE_BOUND, UNIT_VARIANCE_BOUND));
                data.setAtIndex(Weight.BF16, i, (short) (Float.floatToRawIntBits(value) >>> 16));
            }
        });
        TensorInfo info = new TensorInfo(name, null, DType.BF16, shape, 0, count * 2);
        made.add(info);
        return new Tensor(info, data);
    }

    /** Standard deviation: 0.2 around 1 for norms, small for biases, 1/√fan-in for matrices (2/√ for routers). */
    private static double scale(String name, long[] shape) {
        if (shape.length == 1) {
            return name.endsWith("bias") ? 0.05 : 0.2;
        }
        if (name.contains("embed_tokens")) {
            return 1.0;
        }
        double perInput = 1.0 / Math.sqrt(shape[shape.length - 1]);
        return name.endsWith("mlp.gate.weight") ? 2 * perInput : perInput;
    }

    @Override
    public long totalBytes() {
        return made.stream().mapToLong(TensorInfo::byteSize).sum();
    }

    /** Every tensor made so far, in the order asked for. */
    public List<TensorInfo> made() {
        return List.copyOf(made);
    }

    @Override
    public void close() {
        arena.close();
    }
}
