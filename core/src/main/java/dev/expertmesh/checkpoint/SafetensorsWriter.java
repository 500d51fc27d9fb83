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

/** Writes F32 tensors as a .safetensors file that Hugging Face's safetensors library reads. */
public final class SafetensorsWriter {
    private static final int WRITE_CHUNK_FLOATS = 1 << 20;
    private final Map<String, float[]> data = new LinkedHashMap<>();
    private final Map<String, long[]> shapes = new LinkedHashMap<>();

    public SafetensorsWriter addF32(String name, float[] values, long... shape) {
        if (Arrays.stream(shape).reduce(1, Math::multiplyExact) != values.length) {
            throw new IllegalArgumentException(name + ": " + values.length + " values do not fill shape " + Arrays.toString(shape));
        }
        data.put(name, values);
        shapes.put(name, shape);
        return this;
    }

    public void write(Path path) throws IOException {
        ObjectNode header = new ObjectMapper().createObjectNode();
        long offset = 0;
        for (var e : data.entrySet()) {
            long bytes = (long) e.getValue().length * Float.BYTES;
            ObjectNode entry = header.putObject(e.getKey());
            entry.put("dtype", "F32");
            var shape = entry.putArray("shape");
            for (long d : shapes.get(e.getKey())) {
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
            for (float[] values : data.values()) {
                for (int from = 0; from < values.length; from += WRITE_CHUNK_FLOATS) {
                    int n = Math.min(WRITE_CHUNK_FLOATS, values.length - from);
                    buf.clear();
                    buf.asFloatBuffer().put(values, from, n);
                    out.write(buf.array(), 0, n * Float.BYTES);
                }
            }
        }
    }
}
