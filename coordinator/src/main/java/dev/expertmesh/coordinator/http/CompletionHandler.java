package dev.expertmesh.coordinator.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.expertmesh.coordinator.serving.Completion;
import dev.expertmesh.coordinator.serving.CompletionDelta;
import dev.expertmesh.coordinator.serving.TextGeneration;
import dev.expertmesh.engine.Submission;
import dev.expertmesh.sampling.TokenLogprob;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** POST of a completion or chat completion: streamed as events, or answered whole when it ends. */
final class CompletionHandler implements HttpHandler {
    private final TextGeneration generation;
    private final CompletionApi api;

    CompletionHandler(TextGeneration generation, CompletionApi api) {
        this.generation = generation;
        this.api = api;
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        OpenAiRequest request;
        QueuedCompletion events = new QueuedCompletion();
        Submission submission;
        try {
            request = OpenAiRequest.parse(HttpExchanges.body(exchange), api);
            submission = generation.submit(request.request(), events);
        } catch (RuntimeException e) {
            HttpExchanges.sendError(exchange, ApiError.of(e));
            return;
        }
        ResponseIdentity identity = ResponseIdentity.next(api.idPrefix(), generation.model().name());
        if (request.stream()) {
            new StreamedResponse(exchange, api, identity, request).send(events, submission);
        } else {
            sendWhole(exchange, identity, request.request().logprobs().isPresent(), events, submission);
        }
    }

    private void sendWhole(HttpExchange exchange, ResponseIdentity identity, boolean logprobs, QueuedCompletion events,
                           Submission submission) throws IOException {
        StringBuilder text = new StringBuilder();
        List<TokenLogprob> tokenLogprobs = new ArrayList<>();
        try {
            while (true) {
                switch (events.next()) {
                    case QueuedCompletion.Delta(CompletionDelta d) -> {
                        text.append(d.text());
                        tokenLogprobs.addAll(d.logprobs());
                    }
                    case QueuedCompletion.Finished(Completion c) -> {
                        ObjectNode response = identity.start(api.object());
                        response.putArray("choices").add(api.choice(text.toString(), logprobs ? tokenLogprobs : null,
                                c.finishReason().apiName()));
                        response.set("usage", ResponseIdentity.usage(c));
                        HttpExchanges.sendJson(exchange, 200, response);
                        return;
                    }
                    case QueuedCompletion.Failed(RuntimeException cause) -> {
                        HttpExchanges.sendError(exchange, ApiError.of(cause));
                        return;
                    }
                }
            }
        } catch (InterruptedException closing) {
            submission.cancel();
            Thread.currentThread().interrupt();
        }
    }
}
