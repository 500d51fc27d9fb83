package dev.expertmesh.engine;

/**
 * What the scheduler may take on, named as vLLM names them.
 *
 * @param maxRunningRequests    sequences in the running batch at most (vLLM's max_num_seqs)
 * @param maxBatchedTokens      tokens one step runs at most, decodes and prefill chunks together
 *                              (max_num_batched_tokens): bounds a step's time, so decodes keep flowing while long prompts prefill
 * @param maxWaitingRequests    requests waiting for admission at most; more are refused
 */
public record SchedulerLimits(int maxRunningRequests, int maxBatchedTokens, int maxWaitingRequests) {
    /** What a server starts with. */
    public static final SchedulerLimits DEFAULT = new SchedulerLimits(256, 512, 1024);
    /** Everything at once: the single-process engine's {@link Engine#generate} batches. */
    static final SchedulerLimits UNLIMITED = new SchedulerLimits(Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE);

    public SchedulerLimits {
        if (maxRunningRequests < 1 || maxBatchedTokens < 1 || maxWaitingRequests < 0) {
            throw new IllegalArgumentException("scheduler limits need max running requests >= 1, max batched tokens >= 1 and"
                    + " max waiting requests >= 0, got " + maxRunningRequests + ", " + maxBatchedTokens + " and " + maxWaitingRequests);
        }
    }
}
