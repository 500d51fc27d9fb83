package dev.expertmesh.coordinator.serving;

import dev.expertmesh.coordinator.metrics.ServingMetrics;
import dev.expertmesh.engine.FinishReason;
import dev.expertmesh.engine.Generation;
import dev.expertmesh.engine.GenerationListener;
import dev.expertmesh.engine.GenerationRequest;
import dev.expertmesh.engine.Submission;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.sampling.TokenLogprob;
import dev.expertmesh.tokenizer.StreamingDetokenizer;
import dev.expertmesh.tokenizer.Tokenizer;

import java.util.List;
import java.util.Optional;

/**
 * Turns one sequence's tokens into the deltas a client sees: text decoded as characters complete,
 * held back while it may be the start of a stop string, and cut at one when it appears (the
 * generation then ends with reason stop, and its remaining work is cancelled). The token that ends
 * a generation (eos, a stop token id) is counted and returned as an id, never as text, as OpenAI
 * and vLLM do. Times each token
 * for the metrics: the first from submission, the others from the token before.
 */
final class TextStream implements GenerationListener {
    private final StreamingDetokenizer detokenizer;
    private final StopStrings stops;
    private final CompletionListener listener;
    private final GenerationRequest request;
    private final ModelConfig config;
    private final ServingMetrics metrics;
    private final long submittedNanos = System.nanoTime();
    private long lastTokenNanos;
    private Submission submission;
    private int generated;
    private boolean ended;

    TextStream(Optional<Tokenizer> tokenizer, GenerationRequest request, ModelConfig config, List<String> stopStrings,
               CompletionListener listener, ServingMetrics metrics) {
        this.detokenizer = tokenizer.map(StreamingDetokenizer::new).orElse(null);
        this.stops = new StopStrings(stopStrings);
        this.request = request;
        this.config = config;
        this.listener = listener;
        this.metrics = metrics;
    }

    /** The submission to cancel when a stop string ends the generation early. */
    synchronized void whenStopped(Submission submission) {
        this.submission = submission;
        if (ended) {
            submission.cancel();
        }
    }

    @Override
    public synchronized void token(int tokenId, TokenLogprob logprob) {
        if (ended) {
            return;
        }
        long now = System.nanoTime();
        if (generated == 0) {
            metrics.firstToken(now - submittedNanos);
        } else {
            metrics.nextToken(now - lastTokenNanos);
        }
        lastTokenNanos = now;
        generated++;
        String text = detokenizer == null || request.isStopToken(tokenId, config) ? "" : stops.add(detokenizer.add(tokenId));
        listener.delta(new CompletionDelta(text, new int[]{tokenId}, logprob == null ? List.of() : List.of(logprob)));
        if (stops.matched() != null) {
            end(FinishReason.STOP);
            if (submission != null) {
                submission.cancel();
            }
        }
    }

    @Override
    public synchronized void finished(Generation generation) {
        if (ended) {
            return;
        }
        String rest = detokenizer == null ? "" : stops.add(detokenizer.finish());
        rest += stops.flush();
        if (!rest.isEmpty()) {
            listener.delta(new CompletionDelta(rest, new int[0], List.of()));
        }
        end(stops.matched() != null ? FinishReason.STOP : generation.finishReason());
    }

    @Override
    public synchronized void failed(RuntimeException cause) {
        if (!ended) {
            ended = true;
            listener.failed(cause);
        }
    }

    private void end(FinishReason reason) {
        ended = true;
        listener.finished(new Completion(reason, stops.matched(), request.promptIds().length, generated));
    }
}
