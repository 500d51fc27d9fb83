package dev.expertmesh.client;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * One generation to ask for, immutable: start from {@link #prompt(String)}, {@link #chat(List)} or
 * {@link #tokenIds(int...)}, and each fluent method returns a copy with one parameter changed.
 * What is left unset takes the coordinator's default (the client's for the model and the deadline).
 * The coordinator checks the values: a bad one fails the call with INVALID_ARGUMENT naming the field.
 *
 * @param model        the served model's name; empty: the client's default, else the one model served
 * @param maxTokens    empty: until the context is full
 * @param temperature  0 is greedy
 * @param topP         empty: every token kept
 * @param topK         0 keeps every token
 * @param seed         empty: a random seed
 * @param stop         generation stops before any of these strings, which are not returned
 * @param stopTokenIds generation stops after any of these tokens, which are returned
 * @param ignoreEos    keep going past the model's eos
 * @param logprobs     set: each token's log probability and this many most likely alternatives
 * @param deadline     empty: the client's default deadline
 */
public record GenerationRequest(Prompt prompt, Optional<String> model, OptionalInt maxTokens, double temperature, OptionalDouble topP,
                                int topK, OptionalLong seed, List<String> stop, List<Integer> stopTokenIds, boolean ignoreEos,
                                OptionalInt logprobs, Optional<Duration> deadline) {
    public GenerationRequest {
        Objects.requireNonNull(prompt, "prompt");
        stop = List.copyOf(stop);
        stopTokenIds = List.copyOf(stopTokenIds);
    }

    private GenerationRequest(Prompt prompt) {
        this(prompt, Optional.empty(), OptionalInt.empty(), 0, OptionalDouble.empty(), 0, OptionalLong.empty(), List.of(), List.of(),
                false, OptionalInt.empty(), Optional.empty());
    }

    public static GenerationRequest prompt(String text) {
        return new GenerationRequest(new Prompt.Text(text));
    }

    public static GenerationRequest chat(List<ChatMessage> messages) {
        return new GenerationRequest(new Prompt.Chat(messages));
    }

    public static GenerationRequest tokenIds(int... ids) {
        return new GenerationRequest(new Prompt.TokenIds(Arrays.stream(ids).boxed().toList()));
    }

    public GenerationRequest model(String name) {
        return new GenerationRequest(prompt, Optional.of(name), maxTokens, temperature, topP, topK, seed, stop, stopTokenIds, ignoreEos,
                logprobs, deadline);
    }

    public GenerationRequest maxTokens(int n) {
        return new GenerationRequest(prompt, model, OptionalInt.of(n), temperature, topP, topK, seed, stop, stopTokenIds, ignoreEos,
                logprobs, deadline);
    }

    public GenerationRequest temperature(double t) {
        return new GenerationRequest(prompt, model, maxTokens, t, topP, topK, seed, stop, stopTokenIds, ignoreEos, logprobs, deadline);
    }

    public GenerationRequest topP(double p) {
        return new GenerationRequest(prompt, model, maxTokens, temperature, OptionalDouble.of(p), topK, seed, stop, stopTokenIds, ignoreEos,
                logprobs, deadline);
    }

    public GenerationRequest topK(int k) {
        return new GenerationRequest(prompt, model, maxTokens, temperature, topP, k, seed, stop, stopTokenIds, ignoreEos, logprobs, deadline);
    }

    public GenerationRequest seed(long s) {
        return new GenerationRequest(prompt, model, maxTokens, temperature, topP, topK, OptionalLong.of(s), stop, stopTokenIds, ignoreEos,
                logprobs, deadline);
    }

    public GenerationRequest stop(String... strings) {
        return new GenerationRequest(prompt, model, maxTokens, temperature, topP, topK, seed, List.of(strings), stopTokenIds, ignoreEos,
                logprobs, deadline);
    }

    public GenerationRequest stopTokenIds(int... ids) {
        return new GenerationRequest(prompt, model, maxTokens, temperature, topP, topK, seed, stop, Arrays.stream(ids).boxed().toList(),
                ignoreEos, logprobs, deadline);
    }

    public GenerationRequest ignoreEos(boolean ignore) {
        return new GenerationRequest(prompt, model, maxTokens, temperature, topP, topK, seed, stop, stopTokenIds, ignore, logprobs, deadline);
    }

    public GenerationRequest logprobs(int alternatives) {
        return new GenerationRequest(prompt, model, maxTokens, temperature, topP, topK, seed, stop, stopTokenIds, ignoreEos,
                OptionalInt.of(alternatives), deadline);
    }

    /** The time the whole generation may take, instead of the client's default deadline. */
    public GenerationRequest deadline(Duration d) {
        return new GenerationRequest(prompt, model, maxTokens, temperature, topP, topK, seed, stop, stopTokenIds, ignoreEos, logprobs,
                Optional.of(d));
    }
}
