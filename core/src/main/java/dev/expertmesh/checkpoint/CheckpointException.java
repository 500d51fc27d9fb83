package dev.expertmesh.checkpoint;

/** A checkpoint that cannot be read as asked: the message names the file and, where known, the tensor. */
public final class CheckpointException extends RuntimeException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
