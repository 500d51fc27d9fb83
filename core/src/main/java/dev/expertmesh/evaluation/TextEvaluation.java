package dev.expertmesh.evaluation;

import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.LayerObserver;

import java.util.Arrays;

/**
 * A candidate model measured against a reference over a tokenized text, as llama.cpp's perplexity
 * tool does in its KL-divergence mode: the text is cut into chunks of the context length, each
 * chunk is scored from its start by both models, and only the second half of each chunk counts,
 * so that every scored token has at least half a context before it. The logits at position t are
 * judged on the token at t + 1, so a chunk of n tokens scores positions n/2 to n - 2.
 */
public final class TextEvaluation {
    /** Hears of each chunk as it is done (a long run's progress). */
    public interface Progress {
        Progress NONE = (done, of) -> { };

        void chunkDone(int done, int of);
    }

    private TextEvaluation() {
    }

    /** Positions {@code tokens} of text give in chunks of {@code context}: the count a run will report. */
    public static int scoredPositions(int tokens, int context) {
        return tokens / context * (context - 1 - context / 2);
    }

    public static EvaluationResult run(int[] tokens, int context, Engine reference, Engine candidate, Progress progress) {
        if (context < 4) {
            throw new IllegalArgumentException("--ctx " + context + ": give at least 4 tokens of context");
        }
        int chunks = tokens.length / context;
        if (chunks == 0) {
            throw new IllegalArgumentException("the text has " + tokens.length + " tokens, fewer than one chunk of --ctx "
                    + context + ": give a longer text or a smaller --ctx");
        }
        int vocab = reference.config().vocabSize();
        PositionTally tally = new PositionTally();
        for (int c = 0; c < chunks; c++) {
            int[] chunk = Arrays.copyOfRange(tokens, c * context, (c + 1) * context);
            float[] expected = reference.score(chunk, LayerObserver.NONE);
            float[] actual = candidate.score(chunk, LayerObserver.NONE);
            for (int t = context / 2; t < context - 1; t++) {
                tally.add(expected, actual, t * vocab, vocab, chunk[t + 1]);
            }
            progress.chunkDone(c + 1, chunks);
        }
        return tally.result(context);
    }
}
