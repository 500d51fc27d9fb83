package dev.expertmesh.engine;

import dev.expertmesh.attention.CacheUsage;
import dev.expertmesh.attention.SequenceChunk;
import dev.expertmesh.attention.SequencesLostException;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.sampling.Sampler;
import dev.expertmesh.sampling.TokenLogprob;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Continuous batching. Requests join the running batch at any step and leave it when they end.
 * A step runs, first come first served, the next token of every running sequence and chunks of
 * prompts still to prefill, within a token budget (chunked prefill). A sequence runs only once the
 * attention stage has set aside cache blocks for what the step writes; when a running sequence
 * cannot grow, the one admitted last is preempted: its cache is freed and it waits again, at the
 * head of the queue, to be recomputed from its tokens (its prompt and what it has generated). A
 * sequence whose cache was lost with a worker is recomputed the same way, and the rest of its step
 * runs again; no request fails for it.
 *
 * <p>{@link #step} is driven by one thread: {@link #serve} starts one for a server, and
 * {@link Engine#generate} steps on the caller's. {@link #submit} may be called from any thread.
 */
public final class Scheduler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Scheduler.class);

    private final ModelHost host;
    private final SchedulerLimits limits;
    private final LayerObserver observer;
    private final ConcurrentLinkedQueue<Sequence> submitted = new ConcurrentLinkedQueue<>();
    /** Submitted and not yet running: what the waiting limit counts. */
    private final AtomicInteger waitingCount = new AtomicInteger();
    private final Deque<Sequence> waiting = new ArrayDeque<>();
    /** In admission order: preemption takes from the end. */
    private final List<Sequence> running = new ArrayList<>();
    /** The model of the last step. */
    private volatile DeepseekModel model;
    /** Sequences recomputed because their cache was lost. */
    private final AtomicLong retried = new AtomicLong();
    private volatile int runningCount;
    private volatile boolean closed;
    private Thread loop;

    /** Runs steps on the host's model, marking each step's boundaries to the host. */
    public Scheduler(ModelHost host, SchedulerLimits limits, LayerObserver observer) {
        this.host = host;
        this.limits = limits;
        this.observer = observer;
    }

    /**
     * Queues a generation. Throws IllegalArgumentException when the prompt can never run (longer
     * than the context, or than every cache block together holds), QueueFullException when the
     * waiting queue is full, and IllegalStateException when there is no model to run it on.
     */
    public Submission submit(GenerationRequest request, GenerationListener listener) {
        DeepseekModel current = host.model();
        checkPrompt(request.promptIds().length, current.config(), current.cacheUsage());
        if (closed) {
            throw new IllegalStateException("the scheduler is shut down");
        }
        if (waitingCount.incrementAndGet() > limits.maxWaitingRequests()) {
            waitingCount.decrementAndGet();
            throw new QueueFullException("the server is at capacity: " + limits.maxWaitingRequests()
                    + " requests are already waiting; retry later");
        }
        Sequence sequence = new Sequence(request, listener, new Sampler(request.sampling()));
        submitted.add(sequence);
        synchronized (this) {
            notifyAll();
        }
        return sequence::cancel;
    }

    /** Requests waiting for admission, and running. */
    public int waiting() {
        return waitingCount.get();
    }

    public int running() {
        return runningCount;
    }

    /** Requests whose cache was lost with a worker and that were recomputed, so far. */
    public long retried() {
        return retried.get();
    }

    /** The cache blocks of the model the last step ran on (none before the first). */
    public CacheUsage cacheUsage() {
        DeepseekModel current = model;
        return current == null ? new CacheUsage(1, 0, 0) : current.cacheUsage();
    }

    /**
     * Runs one step: drops cancelled sequences, schedules, runs the model once and samples.
     * Returns false when there was nothing to run.
     */
    public boolean step() {
        try {
            host.beforeStep();
        } catch (RuntimeException e) {
            log.warn("Preparing a step failed: {}", e.getMessage(), e);
        }
        for (Sequence s; (s = submitted.poll()) != null; ) {
            waiting.addLast(s);
        }
        dropCancelled();
        runningCount = running.size();
        if (running.isEmpty() && waiting.isEmpty()) {
            return false;
        }
        try {
            model = host.model();
        } catch (RuntimeException e) {
            failAll(e);
            return false;
        }
        List<Scheduled> batch;
        try {
            batch = schedule();
        } catch (RuntimeException e) {
            // Nowhere to put a cache (no attention worker left): nothing can run until the cluster has one.
            log.warn("Scheduling a step failed: {}", e.getMessage());
            failAll(e);
            return false;
        }
        runningCount = running.size();
        if (batch.isEmpty()) {
            return false;
        }
        run(batch);
        runningCount = running.size();
        return true;
    }

    /**
     * Steps on a thread of its own until closed, resting while there is nothing to run. Returns
     * this scheduler.
     */
    public synchronized Scheduler serve() {
        if (loop != null) {
            throw new IllegalStateException("the scheduler is already serving");
        }
        loop = Thread.ofPlatform().name("scheduler").daemon().start(() -> {
            while (!closed) {
                if (!step()) {
                    synchronized (this) {
                        if (submitted.isEmpty() && !closed) {
                            try {
                                wait(100);
                            } catch (InterruptedException e) {
                                return;
                            }
                        }
                    }
                }
            }
        });
        return this;
    }

    /** Stops serving: requests still waiting or running fail, and their caches are freed. */
    @Override
    public void close() {
        Thread serving;
        synchronized (this) {
            closed = true;
            notifyAll();
            serving = loop;
        }
        if (serving != null) {
            try {
                serving.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (Sequence s; (s = submitted.poll()) != null; ) {
            waiting.addLast(s);
        }
        failAll(new IllegalStateException("the server is shutting down"));
    }

    private void dropCancelled() {
        running.removeIf(s -> {
            if (s.cancelled) {
                model.release(s.id);
            }
            return s.cancelled;
        });
        waiting.removeIf(s -> {
            if (s.cancelled) {
                waitingCount.decrementAndGet();
            }
            return s.cancelled;
        });
    }

    /** One step's work: a sequence and how many of its uncached tokens go in. */
    private record Scheduled(Sequence sequence, int tokens) {
    }

    private List<Scheduled> schedule() {
        List<Scheduled> batch = new ArrayList<>();
        int budget = limits.maxBatchedTokens();
        boolean preempted = false;
        for (int i = 0; i < running.size() && budget > 0; i++) {
            Sequence s = running.get(i);
            int n = Math.min(s.uncached(), Math.min(budget, Engine.PREFILL_CHUNK));
            while (!model.reserve(s.id, s.cached + n)) {
                if (running.size() == 1) {
                    // Alone, with every block free, it cannot grow: its output has filled the cache.
                    finish(s, FinishReason.LENGTH);
                    n = 0;
                    break;
                }
                Sequence victim = running.removeLast();
                log.debug("Preempting sequence {} ({} tokens) to make room for sequence {}", victim.id, victim.tokens.size(), s.id);
                requeue(victim);
                preempted = true;
                if (victim == s) {
                    n = 0;
                    break;
                }
            }
            if (n == 0) {
                break;
            }
            batch.add(new Scheduled(s, n));
            budget -= n;
        }
        while (!preempted && budget > 0 && running.size() < limits.maxRunningRequests() && !waiting.isEmpty()) {
            Sequence s = waiting.peekFirst();
            int n = Math.min(s.uncached(), Math.min(budget, Engine.PREFILL_CHUNK));
            if (!model.reserve(s.id, s.cached + n)) {
                break;
            }
            waiting.pollFirst();
            waitingCount.decrementAndGet();
            running.add(s);
            batch.add(new Scheduled(s, n));
            budget -= n;
        }
        return batch;
    }

    /** Frees the sequence's cache and puts it at the head of the queue, to be prefilled again from its tokens. */
    private void requeue(Sequence s) {
        model.release(s.id);
        s.cached = 0;
        waiting.addFirst(s);
        waitingCount.incrementAndGet();
    }

    private void run(List<Scheduled> batch) {
        List<SequenceChunk> chunks = new ArrayList<>(batch.size());
        int[] tokens = new int[batch.stream().mapToInt(Scheduled::tokens).sum()];
        int at = 0;
        for (Scheduled b : batch) {
            chunks.add(new SequenceChunk(b.sequence().id, b.sequence().cached, b.tokens()));
            for (int t = 0; t < b.tokens(); t++) {
                tokens[at++] = b.sequence().tokens.get(b.sequence().cached + t);
            }
        }
        boolean greedyOnly = batch.stream().filter(Scheduler::samples).allMatch(b -> b.sequence().choosesGreedily());
        float[] logits = null;
        int[] greedy = null;
        try {
            if (greedyOnly) {
                greedy = model.greedyTokens(chunks, tokens, observer);
            } else {
                logits = model.forward(chunks, tokens, false, observer);
            }
        } catch (SequencesLostException e) {
            log.warn("{}; recomputing them", e.getMessage());
            for (int i = running.size() - 1; i >= 0; i--) {
                if (e.sequences().contains(running.get(i).id)) {
                    requeue(running.remove(i));
                    retried.incrementAndGet();
                }
            }
            return;
        } catch (RuntimeException e) {
            log.warn("A step of {} sequences failed: {}", batch.size(), e.getMessage());
            for (Scheduled b : batch) {
                running.remove(b.sequence());
                fail(b.sequence(), e);
            }
            return;
        }
        int vocab = model.config().vocabSize();
        for (int i = 0; i < batch.size(); i++) {
            Sequence s = batch.get(i).sequence();
            boolean sampled = samples(batch.get(i));
            s.cached += batch.get(i).tokens();
            if (sampled) {
                if (greedy != null) {
                    accept(s, greedy[i], null);
                } else {
                    sampleNext(s, logits, i * vocab, vocab);
                }
            }
        }
        host.stepCompleted();
    }

    /** Whether the step samples the sequence's next token: its chunk ends the tokens it has, and it is still wanted. */
    private static boolean samples(Scheduled b) {
        Sequence s = b.sequence();
        return s.cached + b.tokens() == s.tokens.size() && !s.cancelled;
    }

    private void sampleNext(Sequence s, float[] logits, int offset, int vocab) {
        GenerationRequest request = s.request;
        int token = s.sampler.sample(model.backend(), logits, offset, vocab);
        TokenLogprob logprob = request.logprobs().isPresent()
                ? TokenLogprob.of(model.backend(), logits, offset, vocab, token, request.logprobs().getAsInt())
                : null;
        accept(s, token, logprob);
    }

    /** Appends the sequence's next token, tells its listener, and finishes it at a stop token or its length. */
    private void accept(Sequence s, int token, TokenLogprob logprob) {
        GenerationRequest request = s.request;
        s.tokens.add(token);
        try {
            s.listener.token(token, logprob);
        } catch (RuntimeException e) {
            log.warn("The listener of sequence {} failed; cancelling it", s.id, e);
            s.cancel();
            return;
        }
        if (s.cancelled) {
            return;
        }
        ModelConfig config = model.config();
        if (request.isStopToken(token, config)) {
            finish(s, FinishReason.STOP);
        } else if (s.generated() >= request.maxTokens() || s.tokens.size() >= config.maxPositionEmbeddings()) {
            finish(s, FinishReason.LENGTH);
        }
    }

    private void finish(Sequence s, FinishReason reason) {
        running.remove(s);
        model.release(s.id);
        int[] generated = s.tokens.subList(s.promptLength, s.tokens.size()).stream().mapToInt(Integer::intValue).toArray();
        try {
            s.listener.finished(new Generation(generated, reason, s.promptLength));
        } catch (RuntimeException e) {
            log.warn("The listener of sequence {} failed at its end", s.id, e);
        }
    }

    private void failAll(RuntimeException cause) {
        for (Sequence s : running) {
            fail(s, cause);
        }
        running.clear();
        for (Sequence s; (s = waiting.poll()) != null; ) {
            waitingCount.decrementAndGet();
            fail(s, cause);
        }
        runningCount = 0;
    }

    private void fail(Sequence s, RuntimeException cause) {
        if (model != null) {
            try {
                model.release(s.id);
            } catch (RuntimeException e) {
                log.debug("Could not free the cache of failed sequence {}", s.id, e);
            }
        }
        try {
            s.listener.failed(cause);
        } catch (RuntimeException e) {
            log.warn("The listener of sequence {} failed on its failure", s.id, e);
        }
    }

    private static void checkPrompt(int length, ModelConfig config, CacheUsage cache) {
        if (length == 0) {
            throw new IllegalArgumentException("the prompt is empty: give at least one token id (usually bos)");
        }
        if (length >= config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("the prompt has " + length + " tokens; this model takes at most "
                    + (config.maxPositionEmbeddings() - 1) + " (max_position_embeddings " + config.maxPositionEmbeddings()
                    + ", less one for the first generated token)");
        }
        if (cache.blocksFor(length + 1) > cache.totalBlocks()) {
            throw new IllegalArgumentException("the prompt has " + length + " tokens; the KV cache holds at most "
                    + cache.totalBlocks() * cache.blockTokens() + " (" + cache.totalBlocks() + " blocks of " + cache.blockTokens()
                    + " tokens): give the attention workers more cache blocks");
        }
    }

    /** A request being scheduled: its tokens so far and how many of them the cache holds. */
    private static final class Sequence {
        final long id = DeepseekModel.newSequenceId();
        final GenerationRequest request;
        final GenerationListener listener;
        final Sampler sampler;
        final int promptLength;
        /** The prompt, then every generated token. */
        final List<Integer> tokens;
        int cached;
        volatile boolean cancelled;

        Sequence(GenerationRequest request, GenerationListener listener, Sampler sampler) {
            this.request = request;
            this.listener = listener;
            this.sampler = sampler;
            this.promptLength = request.promptIds().length;
            this.tokens = new ArrayList<>(promptLength + Math.min(request.maxTokens(), 4096));
            for (int id : request.promptIds()) {
                tokens.add(id);
            }
        }

        int uncached() {
            return tokens.size() - cached;
        }

        /** Whether its next token is the greedy one with nothing else asked of the logits (so they need not leave the device). */
        boolean choosesGreedily() {
            return request.sampling().greedy() && request.logprobs().isEmpty();
        }

        int generated() {
            return tokens.size() - promptLength;
        }

        void cancel() {
            cancelled = true;
        }
    }
}
