package dev.expertmesh.engine;

/** Receives each generated token as soon as it is sampled: what streaming output is built on. */
@FunctionalInterface
public interface TokenSink {
    TokenSink NONE = (request, tokenId) -> {
    };

    /** Token {@code tokenId} was generated for the {@code request}-th request of the call. */
    void accept(int request, int tokenId);
}
