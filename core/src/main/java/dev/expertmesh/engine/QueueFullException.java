package dev.expertmesh.engine;

/** The scheduler's waiting queue is full: the APIs answer RESOURCE_EXHAUSTED or HTTP 429, and the client retries later. */
public final class QueueFullException extends RuntimeException {
    public QueueFullException(String message) {
        super(message);
    }
}
