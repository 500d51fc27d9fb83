package dev.expertmesh.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One .safetensors file: an 8-byte little-endian header length, a JSON header naming every tensor's
 * dtype, shape and byte range, then the data. Opening reads only the header; {@link #map} maps just
 * the byte range of the tensor asked for.
 */
public final class SafetensorsFile implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Far above any real header (a V3 shard's is under 100 KiB); guards against reading garbage as a length. */
    private static final long MAX_HEADER_BYTES = 100L << 20;

    private final Path path;
    private final FileChannel channel;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, FileChannel channel, Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path path) {
        FileChannel channel;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(path + ": file not found");
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot open: " + e.getMessage(), e);
        }
        try {
            return readHeader(path, channel);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    private static SafetensorsFile readHeader(Path path, FileChannel channel) {
        try {
            long fileSize = channel.size();
            if (fileSize < 8) {
                throw new CheckpointException(path + ": truncated safetensors file (" + fileSize + " bytes, no header length)");
            }
            ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            channel.read(lengthBytes, 0);
            long headerLength = lengthBytes.getLong(0);
            if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES || 8 + headerLength > fileSize) {
                throw new CheckpointException(path + ": bad safetensors header length " + headerLength
                        + " in a file of " + fileSize + " bytes (truncated or not a safetensors file)");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLength);
            while (header.hasRemaining()) {
                if (channel.read(header, 8 + header.position()) < 0) {
                    throw new CheckpointException(path + ": truncated safetensors header");
                }
            }
            JsonNode root = JSON.readTree(new String(header.array(), StandardCharsets.UTF_8));
            if (root == null || !root.isObject()) {
                throw new CheckpointException(path + ": safetensors header is not a JSON object");
            }
            long dataStart = 8 + headerLength;
            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (var field : root.properties()) {
                if (field.getKey().equals("__metadata__")) {
                    field.getValue().properties().forEach(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                TensorInfo info = parseEntry(path, field.getKey(), field.getValue(), dataStart);
                if (info.fileOffset() + info.byteSize() > fileSize) {
                    throw new CheckpointException(path + ": tensor " + info.name() + " ends at byte "
                            + (info.fileOffset() + info.byteSize()) + " but the file has " + fileSize + " bytes (truncated file)");
                }
                tensors.put(info.name(), info);
            }
            return new SafetensorsFile(path, channel, tensors, metadata);
        } catch (JsonProcessingException e) {
            throw new CheckpointException(path + ": safetensors header is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static TensorInfo parseEntry(Path path, String name, JsonNode entry, long dataStart) {
        String where = path + ": tensor " + name;
        DType dtype = DType.fromSafetensorsName(entry.path("dtype").asText());
        if (dtype == null) {
            throw new CheckpointException(where + ": unsupported dtype '" + entry.path("dtype").asText()
                    + "' (ExpertMesh reads BF16, F16, F32, F8_E4M3, I32, I64)");
        }
        JsonNode shapeNode = entry.path("shape");
        JsonNode offsets = entry.path("data_offsets");
        if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
            throw new CheckpointException(where + ": header entry needs 'shape' and two 'data_offsets'");
        }
        long[] shape = new long[shapeNode.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shapeNode.get(i).asLong(-1);
            if (shape[i] < 0) {
                throw new CheckpointException(where + ": negative or non-numeric dimension in shape " + shapeNode);
            }
            elements *= shape[i];
        }
        long begin = offsets.get(0).asLong(-1);
        long end = offsets.get(1).asLong(-1);
        if (begin < 0 || end < begin || end - begin != elements * dtype.byteSize()) {
            throw new CheckpointException(where + ": data_offsets [" + begin + ", " + end + "] do not hold "
                    + elements + " " + dtype + " elements of shape " + shapeNode);
        }
        return new TensorInfo(name, path, dtype, shape, dataStart + begin, end - begin);
    }

    public Path path() {
        return path;
    }

    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    /** Maps one tensor's bytes read-only; the mapping lives as long as {@code arena}. */
    public Tensor map(String name, Arena arena) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new CheckpointException(path + ": no tensor named " + name);
        }
        try {
            MemorySegment data = info.byteSize() == 0
                    ? MemorySegment.NULL
                    : channel.map(FileChannel.MapMode.READ_ONLY, info.fileOffset(), info.byteSize(), arena);
            return new Tensor(info, data);
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot map tensor " + name + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Nothing was written through this channel: a failed close loses nothing.
        }
    }
}
