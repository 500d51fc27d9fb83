package dev.expertmesh.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes tensors as a .safetensors file that Hugging Face's safetensors library reads. */
public final class SafetensorsWriter {
    private static final int WRITE_CHUNK_FLOATS = 1 << 20;

    /** A tensor to write: F32 values kept as floats (logits may be large), other dtypes as their bytes. */
    private record Entry(DType dtype, long[] shape, float[] floats, byte[] bytes) {
        long byteSize() {
            return floats != null ? (long) floats.length * Float.BYTES : bytes.length;
        }
    }

    private final Map<String, Entry> entries = new LinkedHashMap<>();

    public SafetensorsWriter addF32(String name, float[] values, long... shape) {
        if (Arrays.stream(shape).reduce(1, Math::multiplyExact) != values.length) {
            throw new IllegalArgumentException(name + ": " + values.length + " values do not fill shape " + Arrays.toString(shape));
        }
        entries.put(name, new Entry(DType.F32, shape, values, null));
        return this;
    }

    /** A tensor's little-endian bytes as they are, e.g. F8_E4M3 codes one byte an element. */
    public SafetensorsWriter add(String name, DType dtype, byte[] bytes, long... shape) {
        if (Arrays.stream(shape).reduce(1, Math::multiplyExact) * dtype.byteSize() != bytes.length) {
            throw new IllegalArgumentException(name + ": " + bytes.length + " bytes do not fill " + dtype + " shape " + Arrays.toString(shape));
        }
        entries.put(name, new Entry(dtype, shape, null, bytes));
        return this;
    }

    public void write(Path path) throws IOException {
        ObjectNode header = new ObjectMapper().createObjectNode();
        long offset = 0;
        for (var e : entries.entrySet()) {
            long bytes = e.getValue().byteSize();
            ObjectNode entry = header.putObject(e.getKey());
            entry.put("dtype", e.getValue().dtype().name());
            var shape = entry.putArray("shape");
            for (long d : e.getValue().shape()) {
                shape.add(d);
            }
            entry.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        // The data must start 8-byte aligned: pad the header with spaces, as the reference writer does.
        int padded = (json.length + 7) & ~7;
        byte[] headerBytes = Arrays.copyOf(json, padded);
        Arrays.fill(headerBytes, json.length, padded, (byte) ' ');
        try (OutputStream out = Files.newOutputStream(path)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
            out.write(headerBytes);
            ByteBuffer buf = ByteBuffer.allocate(WRITE_CHUNK_FLOATS * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            for (Entry e : entries.values()) {
                if (e.floats() == null) {
                    out.write(e.bytes());
                    continue;
                }
                for (int from = 0; from < e.floats().length; from += WRITE_CHUNK_FLOATS) {
                    int n = Math.min(WRITE_CHUNK_FLOATS, e.floats().length - from);
                    buf.clear();
                    buf.asFloatBuffer().put(e.floats(), from, n);
                    out.write(buf.array(), 0, n * Float.BYTES);
                }
            }
        }
    }
}
