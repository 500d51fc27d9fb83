package dev.expertmesh.engine;

import dev.expertmesh.attention.SequenceChunk;
import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.sampling.Sampler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The single-process engine: scores prompts, and generates for several sequences at once, one
 * prefill step and then decode steps that batch every unfinished sequence.
 */
public final class Engine implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Engine.class);

    private final DeepseekModel model;
    private final TensorSource weights;
    private final Arena arena;
    private final AtomicLong nextSequenceId = new AtomicLong();

    private Engine(DeepseekModel model, TensorSource weights, Arena arena) {
        this.model = model;
        this.weights = weights;
        this.arena = arena;
    }

    /** Opens a Hugging Face model directory (config.json and safetensors) on {@code backend}. */
    public static Engine load(Path modelDir, Backend backend) {
        ModelConfig config = ModelConfig.load(modelDir);
        return create(config, Checkpoint.open(modelDir), backend, modelDir + " (memory-mapped: weights page in on first use)");
    }

    /** An engine over {@code weights} (from {@code origin}, for the log), which it closes when closed. */
    public static Engine create(ModelConfig config, TensorSource weights, Backend backend, String origin) {
        long startNanos = System.nanoTime();
        Arena arena = Arena.ofShared();
        try {
            DeepseekModel model = DeepseekModel.load(weights, config, backend, arena);
            log.info("Loaded {} ({} layers, hidden {}, {} routed experts, {} MB) from {} in {} ms",
                    config.modelType(), config.numHiddenLayers(), config.hiddenSize(), config.nRoutedExperts(),
                    String.format("%.1f", weights.totalBytes() / 1e6), origin, (System.nanoTime() - startNanos) / 1_000_000);
            return new Engine(model, weights, arena);
        } catch (RuntimeException e) {
            arena.close();
            weights.close();
            throw e;
        }
    }

    /**
     * An engine running a model built elsewhere (around remote stages, say) from {@code weights}
     * and {@code arena}, which it closes when closed.
     */
    public static Engine around(DeepseekModel model, TensorSource weights, Arena arena) {
        return new Engine(model, weights, arena);
    }

    public ModelConfig config() {
        return model.config();
    }

    public DeepseekModel model() {
        return model;
    }

    /** Logits [prompt length, vocab] at every position of one forward pass over the prompt. */
    public float[] score(int[] promptIds, LayerObserver observer) {
        checkContext(promptIds.length);
        long id = nextSequenceId.getAndIncrement();
        try {
            return model.forward(List.of(new SequenceChunk(id, 0, promptIds.length)), promptIds, true, observer);
        } finally {
            model.release(id);
        }
    }

    public Generation generate(GenerationRequest request) {
        return generate(List.of(request), TokenSink.NONE).getFirst();
    }

    /**
     * Generates for every request together: decode steps batch all unfinished sequences. Each token
     * goes to {@code sink} as soon as it is sampled.
     */
    public List<Generation> generate(List<GenerationRequest> requests, TokenSink sink) {
        List<Running> running = new ArrayList<>();
        for (GenerationRequest r : requests) {
            checkContext(r.promptIds().length);
            running.add(new Running(running.size(), nextSequenceId.getAndIncrement(), r, new Sampler(r.sampling())));
        }
        try {
            List<Running> active = running;
            while (!active.isEmpty()) {
                step(active, sink);
                active = active.stream().filter(r -> r.finish == null).toList();
            }
        } finally {
            running.forEach(r -> model.release(r.id));
        }
        return running.stream()
                .map(r -> new Generation(r.generated.stream().mapToInt(Integer::intValue).toArray(), r.finish, r.request.promptIds().length))
                .toList();
    }

    /** One forward step: the whole prompt for sequences not yet started, the last token for the others. */
    private void step(List<Running> active, TokenSink sink) {
        List<SequenceChunk> chunks = new ArrayList<>(active.size());
        int[] tokens = new int[active.stream().mapToInt(Running::pendingTokens).sum()];
        int at = 0;
        for (Running r : active) {
            int[] pending = r.pending();
            chunks.add(new SequenceChunk(r.id, r.length() - pending.length, pending.length));
            System.arraycopy(pending, 0, tokens, at, pending.length);
            at += pending.length;
        }
        float[] logits = model.forward(chunks, tokens, false, LayerObserver.NONE);
        int vocab = config().vocabSize();
        for (int i = 0; i < active.size(); i++) {
            Running r = active.get(i);
            int token = r.sampler.sample(model.backend(), logits, i * vocab, vocab);
            r.generated.add(token);
            sink.accept(r.index, token);
            if (config().eosTokenIds().contains(token)) {
                r.finish = FinishReason.STOP;
            } else if (r.generated.size() >= r.request.maxTokens() || r.length() >= config().maxPositionEmbeddings()) {
                r.finish = FinishReason.LENGTH;
            }
        }
    }

    private void checkContext(int promptLength) {
        if (promptLength == 0) {
            throw new IllegalArgumentException("the prompt is empty: give at least one token id (usually bos)");
        }
        if (promptLength >= config().maxPositionEmbeddings()) {
            throw new IllegalArgumentException("the prompt has " + promptLength + " tokens; the model's context is "
                    + config().maxPositionEmbeddings() + " (max_position_embeddings)");
        }
    }

    /** Releases the weights: nothing loaded from this engine may be used afterwards. */
    @Override
    public void close() {
        arena.close();
        weights.close();
    }

    /** A sequence being generated. */
    private static final class Running {
        final int index;
        final long id;
        final GenerationRequest request;
        final Sampler sampler;
        final List<Integer> generated = new ArrayList<>();
        FinishReason finish;

        Running(int index, long id, GenerationRequest request, Sampler sampler) {
            this.index = index;
            this.id = id;
            this.request = request;
            this.sampler = sampler;
        }

        int length() {
            return request.promptIds().length + generated.size();
        }

        /** Tokens not yet in the cache: the prompt before the first step, then the last sampled token. */
        int[] pending() {
            return generated.isEmpty() ? request.promptIds() : new int[]{generated.getLast()};
        }

        int pendingTokens() {
            return pending().length;
        }
    }
}
