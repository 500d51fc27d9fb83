package dev.expertmesh.membership;

/** Stops a listener; closing twice is harmless. */
public interface Subscription extends AutoCloseable {
    @Override
    void close();
}
