package dev.expertmesh.transport;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Parser;

/** The protobuf message beside each request batch of the data plane: its step, layer, epoch and the like. */
public final class BatchMetadata {
    private BatchMetadata() {
    }

    public static <T> T read(byte[] metadata, Parser<T> parser, String what) {
        try {
            return parser.parseFrom(metadata);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException("the batch's metadata is not a valid " + what, e);
        }
    }
}
