package dev.expertmesh;

import dev.expertmesh.checkpoint.SafetensorsFile;
import dev.expertmesh.checkpoint.Tensor;
import dev.expertmesh.tensor.Weight;
import dev.expertmesh.tokenizer.Tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The tiny fixture models under testdata/ and their transformers float64 reference outputs
 * (golden.safetensors, made by shared/tools/make_golden.py).
 */
public final class Fixtures {
    public static final String[] MODELS = {"tiny-v2-lite", "tiny-v2", "tiny-v3"};

    private Fixtures() {
    }

    public static Path testdata() {
        String dir = System.getProperty("expertmesh.testdata");
        Path path = dir != null ? Path.of(dir) : Path.of("..", "testdata");
        if (!Files.isDirectory(path)) {
            throw new IllegalStateException("testdata/ not found at " + path.toAbsolutePath()
                    + "; run the tests through Maven from the repository root");
        }
        return path;
    }

    /**
     * The start of the project's own prose (testdata/text) under the tiny fixtures' tokenizer: the
     * chunks of {@code context} tokens that give at least the 2048 scored positions eval asks for.
     */
    public static int[] proseTokens(int context) {
        int chunks = (2048 + context / 2 - 2) / (context / 2 - 1);
        try (Tokenizer tokenizer = Tokenizer.load(testdata().resolve("tokenizers").resolve("tiny"))) {
            return Arrays.copyOf(tokenizer.encode(Files.readString(testdata().resolve("text").resolve("expertmesh-prose.txt"))),
                    chunks * context);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Path model(String name) {
        return testdata().resolve("models").resolve(name);
    }

    /** A model's golden outputs; close it when done. */
    public static Golden golden(String model) {
        return new Golden(SafetensorsFile.open(model(model).resolve("golden.safetensors")));
    }

    public record Golden(SafetensorsFile file) implements AutoCloseable {
        public boolean has(String name) {
            return file.tensors().containsKey(name);
        }

        public float[] floats(String name) {
            try (Arena arena = Arena.ofConfined()) {
                return Weight.toFloats(file.map(name, arena));
            }
        }

        public long[] shape(String name) {
            return file.tensors().get(name).shape();
        }

        public int[] ints(String name) {
            try (Arena arena = Arena.ofConfined()) {
                Tensor t = file.map(name, arena);
                int n = Math.toIntExact(t.info().elementCount());
                int[] out = new int[n];
                for (int i = 0; i < n; i++) {
                    out[i] = Math.toIntExact(t.data().getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i));
                }
                return out;
            }
        }

        @Override
        public void close() {
            file.close();
        }
    }

    /** ‖actual − expected‖ / ‖expected‖ over [from, from + length) of both. */
    public static double relativeError(float[] actual, int actualFrom, float[] expected, int expectedFrom, int length) {
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < length; i++) {
            double e = expected[expectedFrom + i];
            double d = actual[actualFrom + i] - e;
            diff += d * d;
            norm += e * e;
        }
        return Math.sqrt(diff / norm);
    }

    public static double relativeError(float[] actual, float[] expected) {
        if (actual.length != expected.length) {
            throw new AssertionError("lengths differ: " + actual.length + " vs " + expected.length);
        }
        return relativeError(actual, 0, expected, 0, expected.length);
    }
}
