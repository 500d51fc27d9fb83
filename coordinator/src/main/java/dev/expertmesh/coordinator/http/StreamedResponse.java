package dev.expertmesh.coordinator.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import dev.expertmesh.coordinator.serving.Completion;
import dev.expertmesh.coordinator.serving.CompletionDelta;
import dev.expertmesh.engine.Submission;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Streams a generation as OpenAI does: server-sent events {@code data: {chunk}}, the finish reason
 * on the last chunk, then the usage when asked for, then {@code data: [DONE]}. A client that goes
 * away cancels the generation, which frees its cache blocks. A token that gives no text (held back
 * for a stop string or an incomplete character, the eos, any token without a tokenizer) is written
 * as an SSE comment, which clients ignore, so that a hang-up is seen at the next token and not only
 * when text flows again.
 */
final class StreamedResponse {
    /** An SSE comment line: no event, but a write that fails once the client has gone. */
    private static final String NO_TEXT = ": \n\n";
    private final HttpExchange exchange;
    private final CompletionApi api;
    private final ResponseIdentity identity;
    private final boolean logprobs;
    private final boolean includeUsage;
    /** Characters (code points) of text streamed so far: where the next chunk's text_offset starts. */
    private int streamedChars;

    StreamedResponse(HttpExchange exchange, CompletionApi api, ResponseIdentity identity, OpenAiRequest request) {
        this.exchange = exchange;
        this.api = api;
        this.identity = identity;
        this.logprobs = request.request().logprobs().isPresent();
        this.includeUsage = request.includeUsage();
    }

    void send(QueuedCompletion events, Submission submission) {
        try (OutputStream out = open()) {
            ObjectNode opening = api.openingChoice();
            if (opening != null) {
                event(out, chunk(opening));
            }
            while (true) {
                switch (events.next()) {
                    case QueuedCompletion.Delta(CompletionDelta d) -> {
                        if (!d.text().isEmpty() || (logprobs && !d.logprobs().isEmpty())) {
                            event(out, chunk(api.chunkChoice(d.text(), streamedChars, logprobs ? d.logprobs() : null, null)));
                            streamedChars += d.text().codePointCount(0, d.text().length());
                        } else {
                            write(out, NO_TEXT);
                        }
                    }
                    case QueuedCompletion.Finished(Completion c) -> {
                        event(out, chunk(api.chunkChoice("", streamedChars, null, c.finishReason().apiName())));
                        if (includeUsage) {
                            ObjectNode usage = identity.start(api.chunkObject());
                            usage.putArray("choices");
                            usage.set("usage", ResponseIdentity.usage(c));
                            event(out, usage);
                        }
                        done(out);
                        return;
                    }
                    case QueuedCompletion.Failed(RuntimeException cause) -> {
                        event(out, ApiError.of(cause).toJson());
                        done(out);
                        return;
                    }
                }
            }
        } catch (IOException | InterruptedException gone) {
            // The client went away, or the server is closing.
            submission.cancel();
        }
    }

    private OutputStream open() throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        exchange.getResponseHeaders().set("Cache-Control", "no-cache");
        exchange.sendResponseHeaders(200, 0);
        return exchange.getResponseBody();
    }

    private ObjectNode chunk(ObjectNode choice) {
        ObjectNode chunk = identity.start(api.chunkObject());
        chunk.putArray("choices").add(choice);
        if (includeUsage) {
            chunk.putNull("usage");
        }
        return chunk;
    }

    private static void event(OutputStream out, JsonNode data) throws IOException {
        write(out, "data: " + HttpExchanges.JSON.writeValueAsString(data) + "\n\n");
    }

    private static void done(OutputStream out) throws IOException {
        write(out, "data: [DONE]\n\n");
    }

    private static void write(OutputStream out, String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
