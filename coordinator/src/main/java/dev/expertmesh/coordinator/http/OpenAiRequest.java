package dev.expertmesh.coordinator.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.expertmesh.coordinator.serving.CompletionRequest;
import dev.expertmesh.coordinator.serving.InvalidRequestException;
import dev.expertmesh.coordinator.serving.TextGeneration;

import java.util.HashSet;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/**
 * A completion or chat completion request's body, read with OpenAI's defaults (temperature 1) and
 * vLLM's extensions (top_k, ignore_eos, stop_token_ids). Fields this server does not use are ignored,
 * as OpenAI clients send many.
 *
 * @param includeUsage stream_options.include_usage: a last chunk with the token usage
 */
record OpenAiRequest(CompletionRequest request, boolean stream, boolean includeUsage) {
    private static final double DEFAULT_TEMPERATURE = 1;

    static OpenAiRequest parse(RequestFields body, CompletionApi api) {
        int n = body.integer("n").orElse(1);
        if (n != 1) {
            throw new InvalidRequestException("n", "n must be 1: this server makes one choice per request, got " + n);
        }
        OptionalDouble topP = body.number("top_p");
        int topK = body.integer("top_k").orElse(0);
        var seed = body.longInteger("seed");
        CompletionRequest request = new CompletionRequest(
                api.input(body),
                body.string("model").orElse(null),
                maxTokens(body, api),
                TextGeneration.sampling(body.number("temperature").orElse(DEFAULT_TEMPERATURE),
                        topP.isPresent() ? topP.getAsDouble() : null,
                        topK == -1 ? 0 : topK,  // vLLM's -1, like 0 here, keeps every token
                        seed.isPresent() ? seed.getAsLong() : null),
                body.strings("stop"),
                new HashSet<>(body.integers("stop_token_ids")),
                body.bool("ignore_eos"),
                api.logprobs(body));
        boolean stream = body.bool("stream");
        if (!stream && body.get("stream_options") != null) {
            throw new InvalidRequestException("stream_options", "stream_options applies to streamed responses only: set stream to true or drop it");
        }
        return new OpenAiRequest(request, stream, includeUsage(body));
    }

    private static OptionalInt maxTokens(RequestFields body, CompletionApi api) {
        OptionalInt completion = body.integer("max_completion_tokens");
        OptionalInt max = completion.isPresent() ? completion : body.integer("max_tokens");
        return max.isPresent() ? max : api.defaultMaxTokens();
    }

    private static boolean includeUsage(RequestFields body) {
        JsonNode options = body.get("stream_options");
        if (options == null) {
            return false;
        }
        if (!options.isObject()) {
            throw RequestFields.wrongType("stream_options", "an object");
        }
        return new RequestFields(options).bool("include_usage");
    }
}
