package dev.expertmesh.evaluation;

/**
 * How close a candidate model's next-token distributions are to a reference's over the scored
 * positions of a text: both perplexities, the KL divergence KL(reference ‖ candidate) in nats (its
 * mean, 99th percentile and maximum over the positions), and the share of positions where both
 * rank the same token first.
 */
public record EvaluationResult(int tokens, int context, double referencePerplexity, double candidatePerplexity,
                               double meanKl, double p99Kl, double maxKl, double top1Agreement) {
}
