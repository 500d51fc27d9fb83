package dev.expertmesh.launcher;

import dev.expertmesh.client.ExpertMeshClient;
import dev.expertmesh.client.ExpertMeshException;
import dev.expertmesh.client.Finish;
import dev.expertmesh.client.GenerationDelta;
import dev.expertmesh.client.GenerationListener;
import dev.expertmesh.client.GenerationRequest;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/** Concurrent greedy generations through the client SDK, one per prompt, each token's arrival timed. */
final class GreedyStreams {
    private final List<Stream> streams;

    private GreedyStreams(List<Stream> streams) {
        this.streams = streams;
    }

    /** Starts one greedy stream of exactly {@code maxTokens} tokens (past eos) per prompt. */
    static GreedyStreams start(ExpertMeshClient client, List<int[]> prompts, int maxTokens) {
        List<Stream> streams = IntStream.range(0, prompts.size()).mapToObj(Stream::new).toList();
        for (Stream s : streams) {
            client.generateAsync(GenerationRequest.tokenIds(prompts.get(s.index)).maxTokens(maxTokens).temperature(0).ignoreEos(true), s);
        }
        return new GreedyStreams(streams);
    }

    /** Waits until every stream has received {@code count} tokens, so that a fault injected next finds them all in flight. */
    void awaitEveryStreamHas(int count, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (streams.stream().anyMatch(s -> s.tokenCount() < count)) {
            requireNoFailure("before the fault");
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not every stream had " + count + " tokens within " + timeout.toSeconds() + " s: " + progress());
            }
            Thread.sleep(20);
        }
    }

    /** Waits for every stream to end; fails naming each stream that ended with an error or did not end in time. */
    void awaitFinished(Duration timeout, String phase) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Stream s : streams) {
            try {
                s.done.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                throw new AssertionError(phase + ": streams still running after " + timeout.toSeconds() + " s: " + progress());
            } catch (ExecutionException e) {
                // named below, together with every other failed stream
            }
        }
        requireNoFailure(phase);
    }

    boolean anyRunning() {
        return streams.stream().anyMatch(s -> !s.done.isDone());
    }

    List<List<Integer>> tokens() {
        return streams.stream().map(Stream::tokens).toList();
    }

    /** How the streams saw a fault injected at {@code faultNanos} (System.nanoTime). */
    Recovery recoverySince(long faultNanos) {
        List<long[]> arrivals = streams.stream().map(Stream::arrivals).toList();
        return Recovery.of(arrivals, faultNanos);
    }

    /** Fails naming the streams that ended with an error, grouped by the error, with the tokens each had by then. */
    private void requireNoFailure(String phase) {
        Map<String, List<String>> byError = new TreeMap<>();
        streams.stream().filter(s -> s.error() != null).forEach(s -> byError.computeIfAbsent(s.error().getMessage(), e -> new ArrayList<>())
                .add(s.index + " (after " + s.tokenCount() + " tokens)"));
        if (!byError.isEmpty()) {
            throw new AssertionError(phase + ": requests failed: " + byError.entrySet().stream()
                    .map(e -> "streams " + String.join(", ", e.getValue()) + ": " + e.getKey()).collect(Collectors.joining("; ")));
        }
    }

    private String progress() {
        return streams.stream().map(s -> s.index + ":" + s.tokenCount() + (s.done.isDone() ? " done" : ""))
                .collect(Collectors.joining(", ", "tokens per stream [", "]"));
    }

    /** One generation: its tokens, when each arrived, and how it ended. */
    private static final class Stream implements GenerationListener {
        private final int index;
        private final List<Integer> tokens = new ArrayList<>();
        private final List<Long> arrivals = new ArrayList<>();
        private final CompletableFuture<Void> done = new CompletableFuture<>();
        private volatile ExpertMeshException error;

        Stream(int index) {
            this.index = index;
        }

        @Override
        public synchronized void onDelta(GenerationDelta delta) {
            long now = System.nanoTime();
            for (int id : delta.tokenIds()) {
                tokens.add(id);
                arrivals.add(now);
            }
        }

        @Override
        public void onFinish(Finish finish) {
            done.complete(null);
        }

        @Override
        public void onError(ExpertMeshException e) {
            error = e;
            done.completeExceptionally(e);
        }

        ExpertMeshException error() {
            return error;
        }

        synchronized int tokenCount() {
            return tokens.size();
        }

        synchronized List<Integer> tokens() {
            return List.copyOf(tokens);
        }

        synchronized long[] arrivals() {
            return arrivals.stream().mapToLong(Long::longValue).toArray();
        }
    }
}
