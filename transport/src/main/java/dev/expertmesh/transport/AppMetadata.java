package dev.expertmesh.transport;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Protobuf messages as the app_metadata of Flight record batches, length-delimited because a
 * received buffer may be longer than what was sent.
 */
public final class AppMetadata {
    private AppMetadata() {
    }

    /** The message in a new buffer, whose ownership passes to whoever sends it. */
    public static ArrowBuf write(MessageLite message, BufferAllocator allocator) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(message.getSerializedSize() + 5);
        try {
            message.writeDelimitedTo(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        byte[] bytes = out.toByteArray();
        ArrowBuf buf = allocator.buffer(bytes.length);
        buf.setBytes(0, bytes);
        buf.writerIndex(bytes.length);
        return buf;
    }

    public static <T> T read(ArrowBuf buf, Parser<T> parser, String what) {
        if (buf == null) {
            throw new IllegalArgumentException("the batch has no app_metadata; expected " + what);
        }
        byte[] bytes = new byte[Math.toIntExact(buf.capacity())];
        buf.getBytes(0, bytes);
        try {
            return parser.parseDelimitedFrom(new ByteArrayInputStream(bytes));
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException("the batch's app_metadata is not a valid " + what, e);
        }
    }
}
