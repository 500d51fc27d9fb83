package dev.expertmesh.coordinator.serving;

import dev.expertmesh.coordinator.metrics.ServingMetrics;
import dev.expertmesh.engine.GenerationRequest;
import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.engine.ModelHost;
import dev.expertmesh.engine.Scheduler;
import dev.expertmesh.engine.SchedulerLimits;
import dev.expertmesh.engine.Submission;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.sampling.SamplingParams;
import dev.expertmesh.tokenizer.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;

/**
 * What both public APIs serve: requests in text, chat or token ids checked field by field,
 * tokenized, scheduled, and streamed back as text with stop strings applied. The scheduler is this
 * object's own; closing it fails what is still running.
 */
public final class TextGeneration implements AutoCloseable {
    private final ServedModel served;
    private final ModelConfig config;
    private final Optional<Tokenizer> tokenizer;
    private final Scheduler scheduler;
    private final ServingMetrics metrics;

    /**
     * Serves {@code name} on the host's model (see {@link Scheduler}),
     * with {@code tokenizer} for text in and out when there is one; {@code metrics} hears of every
     * request accepted and every token streamed.
     */
    public TextGeneration(String name, ModelConfig config, Optional<Tokenizer> tokenizer, ModelHost host,
                          SchedulerLimits limits, LayerObserver observer, ServingMetrics metrics) {
        this.served = new ServedModel(name, config.modelType(), config.maxPositionEmbeddings(), config.vocabSize(), Instant.now().getEpochSecond());
        this.config = config;
        this.tokenizer = tokenizer;
        this.scheduler = new Scheduler(host, limits, observer).serve();
        this.metrics = metrics;
    }

    public ServedModel model() {
        return served;
    }

    public Scheduler scheduler() {
        return scheduler;
    }

    /**
     * Checked sampling parameters: an {@link InvalidRequestException} names the field at fault.
     * {@code topP} null means 1 and {@code seed} null a random one.
     */
    public static SamplingParams sampling(double temperature, Double topP, int topK, Long seed) {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new InvalidRequestException("temperature", "temperature must be a finite number >= 0 (0 is greedy), got " + temperature);
        }
        double p = topP == null ? 1 : topP;
        if (!(p > 0 && p <= 1)) {
            throw new InvalidRequestException("top_p", "top_p must be in (0, 1], got " + p);
        }
        if (topK < 0) {
            throw new InvalidRequestException("top_k", "top_k must be >= 0 (0 keeps every token), got " + topK);
        }
        return new SamplingParams(temperature, topK, p, seed);
    }

    /**
     * Starts a generation: {@code listener} hears its deltas, then its end or failure. Throws
     * {@link InvalidRequestException} for a bad field, {@link dev.expertmesh.engine.QueueFullException}
     * when too many requests wait, and IllegalStateException when the cluster cannot serve yet.
     */
    public Submission submit(CompletionRequest request, CompletionListener listener) {
        checkModel(request.model());
        int[] promptIds = tokenize(request.input());
        int room = config.maxPositionEmbeddings() - promptIds.length;
        int maxTokens = request.maxTokens().orElse(Math.max(room, 1));
        if (maxTokens < 1) {
            throw new InvalidRequestException("max_tokens", "max_tokens must be at least 1, got " + maxTokens);
        }
        if (request.maxTokens().isPresent() && maxTokens > room && room > 0) {
            throw new InvalidRequestException("max_tokens", "this model's context is " + config.maxPositionEmbeddings()
                    + " tokens, but " + (promptIds.length + maxTokens) + " were asked for (" + promptIds.length + " in the prompt, "
                    + maxTokens + " to generate): lower max_tokens or shorten the prompt");
        }
        int logprobs = request.logprobs().orElse(0);
        if (logprobs < 0 || logprobs > CompletionRequest.MAX_LOGPROBS) {
            throw new InvalidRequestException("logprobs", "logprobs must be between 0 and " + CompletionRequest.MAX_LOGPROBS + ", got " + logprobs);
        }
        for (int id : request.stopTokenIds()) {
            checkTokenId("stop_token_ids", id);
        }
        if (request.stop().stream().anyMatch(String::isEmpty)) {
            throw new InvalidRequestException("stop", "stop strings must not be empty");
        }
        if (!request.stop().isEmpty() && tokenizer.isEmpty()) {
            throw new InvalidRequestException("stop", "stop strings need the model's tokenizer, and " + served.name()
                    + " has none (no tokenizer.json): use stop_token_ids");
        }
        GenerationRequest generation = new GenerationRequest(promptIds, request.sampling(), maxTokens, request.stopTokenIds(),
                request.ignoreEos(), request.logprobs());
        TextStream stream = new TextStream(tokenizer, generation, config, request.stop(), listener, metrics);
        try {
            Submission submission = scheduler.submit(generation, stream);
            metrics.accepted(promptIds.length);
            stream.whenStopped(submission);
            return submission;
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException(request.input() instanceof CompletionInput.Chat ? "messages" : "prompt", e.getMessage());
        }
    }

    /** The ids the model runs on for {@code input}; text and chat need the model's tokenizer. */
    public int[] tokenize(CompletionInput input) {
        return switch (input) {
            case CompletionInput.Ids(int[] ids) -> {
                if (ids.length == 0) {
                    throw new InvalidRequestException("prompt", "the prompt is empty: give at least one token id (usually bos)");
                }
                for (int id : ids) {
                    checkTokenId("prompt", id);
                }
                yield ids;
            }
            case CompletionInput.Text(String prompt) -> requireTokenizer("prompt").encode(prompt);
            case CompletionInput.Chat(var messages) -> {
                if (messages.isEmpty()) {
                    throw new InvalidRequestException("messages", "messages must hold at least one message");
                }
                Tokenizer t = requireTokenizer("messages");
                if (t.chatTemplate().isEmpty()) {
                    throw new InvalidRequestException("messages", served.name() + "'s tokenizer has no chat template: send a prompt instead");
                }
                yield t.encodeChat(messages);
            }
        };
    }

    /** The text of {@code tokenIds}, special tokens included. */
    public String decode(int[] tokenIds) {
        return requireTokenizer("prompt").decode(tokenIds);
    }

    /** One token's text as APIs list it beside its log probability; {@code token_id:N} without a tokenizer. */
    public String tokenText(int tokenId) {
        return tokenizer.map(t -> t.decode(new int[]{tokenId})).orElse("token_id:" + tokenId);
    }

    /** One token's raw bytes (a piece of a character is its own bytes, not U+FFFD's); those of its {@link #tokenText} without a tokenizer. */
    public byte[] tokenBytes(int tokenId) {
        return tokenizer.map(t -> t.tokenBytes(tokenId)).orElseGet(() -> tokenText(tokenId).getBytes(StandardCharsets.UTF_8));
    }

    /** Refuses a model name other than the served one; null or empty means the served one. */
    public void checkModel(String model) {
        if (model != null && !model.isEmpty() && !model.equals(served.name())) {
            throw new UnknownModelException(model, served.name());
        }
    }

    private void checkTokenId(String field, int id) {
        if (id < 0 || id >= config.vocabSize()) {
            throw new InvalidRequestException(field, "token id " + id + " is outside the vocabulary [0, " + config.vocabSize() + ")");
        }
    }

    private Tokenizer requireTokenizer(String field) {
        return tokenizer.orElseThrow(() -> new InvalidRequestException(field, served.name()
                + " has no tokenizer (no tokenizer.json in its directory): send token ids instead"));
    }

    @Override
    public void close() {
        scheduler.close();
    }
}
