package dev.expertmesh.engine;

import dev.expertmesh.sampling.TokenLogprob;

/**
 * Hears one generation as the scheduler makes it: tokens, then either its end or its failure.
 * Calls come from the scheduler's thread, in order; they must return quickly, since every running
 * sequence waits on them.
 */
public interface GenerationListener {

    /** A token was sampled; {@code logprob} is null unless the request asked for log probabilities. */
    void token(int tokenId, TokenLogprob logprob);

    void finished(Generation generation);

    /** The step running the sequence failed (a worker left, say), or the scheduler stopped. */
    void failed(RuntimeException cause);
}
