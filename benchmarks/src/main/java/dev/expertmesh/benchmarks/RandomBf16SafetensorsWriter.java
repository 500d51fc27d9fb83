package dev.expertmesh.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Writes BF16 tensors as one .safetensors file: matrices random ({@link RandomBf16}), vectors (norm
 * gains) all ones. Data is generated a block at a time, so gigabytes of weights never sit on the heap.
 */
final class RandomBf16SafetensorsWriter {
    private static final int BLOCK_BYTES = 8 << 20;
    private static final short BF16_ONE = 0x3F80;

    private RandomBf16SafetensorsWriter() {
    }

    static void write(Path file, List<TensorSpec> tensors, long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        ByteBuffer block = ByteBuffer.allocateDirect(BLOCK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            writeFully(out, header(tensors));
            for (TensorSpec t : tensors) {
                for (long left = t.byteSize(); left > 0; left -= block.limit()) {
                    block.clear().limit((int) Math.min(BLOCK_BYTES, left));
                    if (t.shape().length == 2) {
                        RandomBf16.fill(MemorySegment.ofBuffer(block), random);
                    } else {
                        while (block.hasRemaining()) {
                            block.putShort(BF16_ONE);
                        }
                        block.flip();
                    }
                    writeFully(out, block);
                }
            }
        }
    }

    /** The 8-byte header length and the JSON header, padded with spaces so the data starts 8-byte aligned. */
    private static ByteBuffer header(List<TensorSpec> tensors) {
        ObjectNode json = new ObjectMapper().createObjectNode();
        long offset = 0;
        for (TensorSpec t : tensors) {
            ObjectNode entry = json.putObject(t.name());
            entry.put("dtype", "BF16");
            var shape = entry.putArray("shape");
            Arrays.stream(t.shape()).forEach(shape::add);
            entry.putArray("data_offsets").add(offset).add(offset + t.byteSize());
            offset += t.byteSize();
        }
        byte[] text = json.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (text.length + 7) & ~7;
        ByteBuffer header = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).put(text);
        while (header.hasRemaining()) {
            header.put((byte) ' ');
        }
        return header.flip();
    }

    private static void writeFully(FileChannel out, ByteBuffer data) throws IOException {
        while (data.hasRemaining()) {
            out.write(data);
        }
    }
}
