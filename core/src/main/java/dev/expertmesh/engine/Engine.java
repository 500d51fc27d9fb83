package dev.expertmesh.engine;

import dev.expertmesh.attention.SequenceChunk;
import dev.expertmesh.backend.Backend;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.QuantizationPlan;
import dev.expertmesh.sampling.TokenLogprob;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The single-process engine: scores prompts, and generates for several sequences at once, one
 * prefill step and then decode steps that batch every unfinished sequence.
 */
public final class Engine implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Engine.class);
    /**
     * Longest piece of a prompt in one forward pass: bounds the activations of a long prompt (its
     * logits alone would be [length, vocab]) and lets decode steps of other sequences interleave.
     */
    static final int PREFILL_CHUNK = 512;
    private static final int MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;

    private final DeepseekModel model;
    /** Frees what the model was built from. */
    private final Runnable release;
    /** Sees every generation step from inside (routing statistics, say). */
    private final LayerObserver observer;

    private Engine(DeepseekModel model, Runnable release, LayerObserver observer) {
        this.model = model;
        this.release = release;
        this.observer = observer;
    }

    /** Opens a Hugging Face model directory (config.json and safetensors) on {@code backend}. */
    public static Engine load(Path modelDir, Backend backend) {
        ModelConfig config = ModelConfig.load(modelDir);
        return create(config, Checkpoint.open(modelDir), backend, modelDir + " (memory-mapped: weights page in on first use)",
                QuantizationPlan.NONE);
    }

    /**
     * An engine over {@code weights} (from {@code origin}, for the log), stored as {@code plan} says;
     * it closes {@code weights} when closed.
     */
    public static Engine create(ModelConfig config, TensorSource weights, Backend backend, String origin, QuantizationPlan plan) {
        long startNanos = System.nanoTime();
        Arena arena = Arena.ofShared();
        try {
            DeepseekModel model = DeepseekModel.load(weights, config, backend, arena, plan);
            log.info("Loaded {} ({} layers, hidden {}, {} routed experts, {} MB, {}) from {} in {} ms",
                    config.modelType(), config.numHiddenLayers(), config.hiddenSize(), config.nRoutedExperts(),
                    String.format("%.1f", weights.totalBytes() / 1e6), plan.label(), origin,
                    (System.nanoTime() - startNanos) / 1_000_000);
            return new Engine(model, () -> {
                try {
                    arena.close();
                } finally {
                    weights.close();
                }
            }, LayerObserver.NONE);
        } catch (RuntimeException | Error e) {
            arena.close();
            weights.close();
            throw e;
        }
    }

    /**
     * An engine running a model built elsewhere (around remote stages, say); {@code observer} sees
     * every generation step, and closing the engine runs {@code release}.
     */
    public static Engine around(DeepseekModel model, Runnable release, LayerObserver observer) {
        return new Engine(model, release, observer);
    }

    public ModelConfig config() {
        return model.config();
    }

    public DeepseekModel model() {
        return model;
    }

    /**
     * Logits [prompt length, vocab] at every position of a forward pass over the prompt (run in
     * chunks of {@link #PREFILL_CHUNK} tokens; the observer sees each chunk's pass).
     */
    public float[] score(int[] promptIds, LayerObserver observer) {
        checkPrompt(promptIds.length, config().maxPositionEmbeddings());
        int vocab = config().vocabSize();
        if ((long) promptIds.length * vocab > MAX_ARRAY_LENGTH) {
            throw new IllegalArgumentException("scoring " + promptIds.length + " tokens gives " + promptIds.length + " x " + vocab
                    + " logits, more than one array holds; score at most " + MAX_ARRAY_LENGTH / vocab + " tokens at a time");
        }
        float[] logits = new float[promptIds.length * vocab];
        long id = DeepseekModel.newSequenceId();
        try {
            for (int start = 0; start < promptIds.length; start += PREFILL_CHUNK) {
                int length = Math.min(PREFILL_CHUNK, promptIds.length - start);
                float[] chunk = model.forward(List.of(new SequenceChunk(id, start, length)),
                        Arrays.copyOfRange(promptIds, start, start + length), true, observer);
                System.arraycopy(chunk, 0, logits, start * vocab, chunk.length);
            }
            return logits;
        } finally {
            model.release(id);
        }
    }

    public Generation generate(GenerationRequest request) {
        return generate(List.of(request), TokenSink.NONE).getFirst();
    }

    /**
     * Generates for every request together through the scheduler, without its limits: decode steps
     * batch all unfinished sequences. Each token goes to {@code sink} as soon as it is sampled.
     */
    public List<Generation> generate(List<GenerationRequest> requests, TokenSink sink) {
        Generation[] generations = new Generation[requests.size()];
        RuntimeException[] failure = new RuntimeException[1];
        try (Scheduler scheduler = new Scheduler(() -> model, SchedulerLimits.UNLIMITED, observer)) {
            for (int i = 0; i < requests.size(); i++) {
                int index = i;
                scheduler.submit(requests.get(i), new GenerationListener() {
                    @Override
                    public void token(int tokenId, TokenLogprob logprob) {
                        sink.accept(index, tokenId);
                    }

                    @Override
                    public void finished(Generation generation) {
                        generations[index] = generation;
                    }

                    @Override
                    public void failed(RuntimeException cause) {
                        if (failure[0] == null) {
                            failure[0] = cause;
                        }
                    }
                });
            }
            while (scheduler.step()) {
                if (failure[0] != null) {
                    throw failure[0];
                }
            }
        }
        if (failure[0] != null) {
            throw failure[0];
        }
        return List.of(generations);
    }

    private static void checkPrompt(int length, int maxLength) {
        if (length == 0) {
            throw new IllegalArgumentException("the prompt is empty: give at least one token id (usually bos)");
        }
        if (length > maxLength) {
            throw new IllegalArgumentException("the prompt has " + length + " tokens, more than the " + maxLength
                    + " this model takes here (max_position_embeddings)");
        }
    }

    /** Releases the weights: nothing loaded from this engine may be used afterwards. */
    @Override
    public void close() {
        release.run();
    }
}
