package dev.expertmesh.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Safetensors files built byte by byte, independently of {@link SafetensorsWriter}. */
final class RawSafetensors {
    private RawSafetensors() {
    }

    /** Writes a little-endian header length, the header JSON as given, then the data. */
    static void write(Path file, String header, byte[] data) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + json.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(json.length).put(json).put(data);
        Files.write(file, buf.array());
    }

    static byte[] littleEndianFloats(float... values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            buf.putFloat(v);
        }
        return buf.array();
    }
}
