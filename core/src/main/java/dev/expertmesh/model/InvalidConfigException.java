package dev.expertmesh.model;

/** A config.json that ExpertMesh cannot run: the message says which field and why. */
public final class InvalidConfigException extends RuntimeException {
    public InvalidConfigException(String message) {
        super(message);
    }

    public InvalidConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
