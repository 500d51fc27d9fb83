package dev.expertmesh.client.loadgen;

import dev.expertmesh.client.ExpertMeshClient;
import dev.expertmesh.client.ExpertMeshException;
import dev.expertmesh.client.GenerationDelta;
import dev.expertmesh.client.GenerationRequest;
import dev.expertmesh.client.GenerationStream;
import dev.expertmesh.client.ModelInfo;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

/**
 * Runs a serving benchmark in the manner of vLLM's benchmark_serving: random token-id prompts sent
 * at Poisson arrival times (or all at once), each generating its output length past eos, streamed
 * and timed as the tokens arrive. Each request runs on a virtual thread of its own.
 */
public final class LoadGenerator {
    private final ExpertMeshClient client;

    public LoadGenerator(ExpertMeshClient client) {
        this.client = client;
    }

    public BenchmarkReport run(BenchmarkSpec spec) throws InterruptedException {
        ModelInfo model = servedModel();
        int longest = PromptWorkload.maxLength(spec.inputLen(), spec.inputLenRange()) + PromptWorkload.maxLength(spec.outputLen(), spec.outputLenRange());
        if (longest > model.maxModelLen()) {
            throw new IllegalArgumentException("prompts and outputs of up to " + longest + " tokens do not fit " + model.id()
                    + "'s context of " + model.maxModelLen() + ": lower --input-len, --output-len or their ranges");
        }
        Random random = new Random(spec.seed());
        List<PromptWorkload.BenchRequest> requests = PromptWorkload.requests(spec, model.vocabSize(), random);
        double[] offsets = Arrivals.offsets(requests.size(), spec.requestRate(), random);
        Semaphore slots = new Semaphore(spec.maxConcurrency() == 0 ? Integer.MAX_VALUE : spec.maxConcurrency());

        List<Future<RequestResult>> results = new ArrayList<>();
        long start = System.nanoTime();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < requests.size(); i++) {
                sleepUntil(start + (long) (offsets[i] * 1e9));
                PromptWorkload.BenchRequest request = requests.get(i);
                results.add(threads.submit(() -> {
                    slots.acquire();
                    try {
                        return send(request, start);
                    } finally {
                        slots.release();
                    }
                }));
            }
        }
        double duration = (System.nanoTime() - start) / 1e9;
        return BenchmarkReport.of(spec, collect(results), duration);
    }

    private ModelInfo servedModel() {
        List<ModelInfo> models = client.listModels();
        if (models.isEmpty() || models.getFirst().vocabSize() == 0) {
            throw new IllegalStateException("the coordinator did not say the size of its model's vocabulary: is it an older ExpertMesh?");
        }
        return models.getFirst();
    }

    private static void sleepUntil(long nanoTime) throws InterruptedException {
        long wait = nanoTime - System.nanoTime();
        if (wait > 0) {
            Thread.sleep(Duration.ofNanos(wait));
        }
    }

    /** Sends one request and times its deltas; a failure is a result too. {@code runStart} is the run's System.nanoTime at its start. */
    private RequestResult send(PromptWorkload.BenchRequest request, long runStart) {
        GenerationRequest call = GenerationRequest.tokenIds(request.promptIds()).maxTokens(request.outputLen()).ignoreEos(true);
        long sent = System.nanoTime();
        long last = sent;
        long first = -1;
        List<Double> gaps = new ArrayList<>();
        try (GenerationStream stream = client.generate(call)) {
            for (GenerationDelta delta : stream) {
                long now = System.nanoTime();
                if (first < 0) {
                    first = now;
                } else {
                    gaps.add((now - last) / 1e9);
                }
                last = now;
            }
            int outputTokens = stream.finish().usage().completionTokens();
            long ended = System.nanoTime();
            if (first < 0) {
                return RequestResult.failed(request.promptIds().length, "the generation ended without a token", (ended - runStart) / 1e9);
            }
            return RequestResult.completed(request.promptIds().length, outputTokens, (first - sent) / 1e9,
                    gaps.stream().mapToDouble(Double::doubleValue).toArray(), (ended - sent) / 1e9, (ended - runStart) / 1e9);
        } catch (ExpertMeshException e) {
            return RequestResult.failed(request.promptIds().length, e.getMessage(), (System.nanoTime() - runStart) / 1e9);
        }
    }

    private static List<RequestResult> collect(List<Future<RequestResult>> futures) throws InterruptedException {
        List<RequestResult> results = new ArrayList<>();
        for (Future<RequestResult> f : futures) {
            try {
                results.add(f.get());
            } catch (ExecutionException e) {
                throw new IllegalStateException("a benchmark request failed unexpectedly: " + e.getCause(), e.getCause());
            }
        }
        return results;
    }
}
