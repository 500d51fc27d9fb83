package dev.expertmesh.attention;

/** A sequence needed a latent cache block and the pool had none left. */
public final class CacheExhaustedException extends RuntimeException {
    public CacheExhaustedException(String message) {
        super(message);
    }
}
