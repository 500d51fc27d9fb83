package dev.expertmesh.engine;

import dev.expertmesh.Fixtures;
import dev.expertmesh.attention.LocalAttentionStage;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.moe.LocalExpertStage;
import dev.expertmesh.quantization.QuantizationPlan;
import dev.expertmesh.sampling.SamplingParams;
import dev.expertmesh.sampling.TokenLogprob;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The scheduler on tiny-v2-lite: whatever joins, waits, is chunked or preempted, each greedy
 * generation is transformers' greedy continuation of its prompt alone.
 */
class SchedulerTest {
    private static final String MODEL = "tiny-v2-lite";
    private static final int BLOCK_TOKENS = 4;

    private TensorSource weights;
    private Arena arena;
    private ModelConfig config;
    private Fixtures.Golden golden;

    @BeforeEach
    void open() {
        weights = Checkpoint.open(Fixtures.model(MODEL));
        arena = Arena.ofShared();
        config = ModelConfig.load(Fixtures.model(MODEL));
        golden = Fixtures.golden(MODEL);
    }

    @AfterEach
    void close() {
        golden.close();
        arena.close();
        weights.close();
    }

    /** The model with a cache of {@code blocks} blocks of {@value BLOCK_TOKENS} tokens. */
    private DeepseekModel model(int blocks) {
        CpuBackend backend = new CpuBackend();
        return DeepseekModel.load(weights, config, backend, arena, LocalAttentionStage.load(weights, config, backend, arena, QuantizationPlan.NONE, BLOCK_TOKENS, blocks),
                LocalExpertStage.load(weights, config, backend, arena, QuantizationPlan.NONE), 1);
    }

    private GenerationRequest greedy(String prompt) {
        int[] expected = golden.ints(prompt + ".greedy_tokens");
        return new GenerationRequest(golden.ints(prompt + ".input_ids"), SamplingParams.GREEDY, expected.length,
                Set.of(), true, OptionalInt.empty());
    }

    @Test
    void requestsJoiningAtEveryStepWithChunkedPrefillGetTheirGreedyTokens() {
        DeepseekModel model = model(1000);
        Scheduler scheduler = new Scheduler(() -> model, new SchedulerLimits(2, 8, 100), LayerObserver.NONE);
        List<Recorded> recorded = new ArrayList<>();
        String[] prompts = {"p2", "p1", "p2", "p1"};
        int steps = 0;
        for (String prompt : prompts) {
            Recorded r = new Recorded();
            scheduler.submit(greedy(prompt), r);
            recorded.add(r);
            assertThat(scheduler.step()).isTrue();
            steps++;
            assertThat(scheduler.running()).isLessThanOrEqualTo(2);
        }
        while (scheduler.step()) {
            steps++;
        }
        for (int i = 0; i < prompts.length; i++) {
            assertThat(recorded.get(i).finished).as("request %d (%s)", i, prompts[i]).isNotNull();
            assertThat(recorded.get(i).finished.tokenIds()).as("request %d (%s)", i, prompts[i])
                    .containsExactly(golden.ints(prompts[i] + ".greedy_tokens"));
        }
        // Two running at most, one of them a 37-token p2 prefilled 8 tokens a step at most.
        int generated = 2 * (golden.ints("p2.greedy_tokens").length + golden.ints("p1.greedy_tokens").length);
        assertThat(steps).isGreaterThan(generated / 2 + 37 / 8);
        assertThat(model.cacheUsage().usedBlocks()).isZero();
    }

    @Test
    void preemptedSequencesAreRecomputedAndStillGetTheirGreedyTokens() {
        int p1Blocks = (golden.ints("p1.input_ids").length + golden.ints("p1.greedy_tokens").length + BLOCK_TOKENS - 1) / BLOCK_TOKENS;
        // Room for one p1 generation and a half: the second must be preempted to let the first grow.
        DeepseekModel model = model(p1Blocks * 3 / 2);
        Scheduler scheduler = new Scheduler(() -> model, new SchedulerLimits(8, 64, 100), LayerObserver.NONE);
        List<Recorded> recorded = List.of(new Recorded(), new Recorded(), new Recorded());
        for (Recorded r : recorded) {
            scheduler.submit(greedy("p1"), r);
        }
        int maxRunning = 0;
        while (scheduler.step()) {
            maxRunning = Math.max(maxRunning, scheduler.running());
        }
        assertThat(maxRunning).as("sequences running together at some step").isGreaterThan(1);
        for (Recorded r : recorded) {
            assertThat(r.finished.tokenIds()).containsExactly(golden.ints("p1.greedy_tokens"));
            assertThat(r.tokens).as("tokens streamed once each, recomputation or not").containsExactly(
                    java.util.Arrays.stream(golden.ints("p1.greedy_tokens")).boxed().toArray(Integer[]::new));
        }
        assertThat(model.cacheUsage().usedBlocks()).isZero();
    }

    @Test
    void aCancelledRequestFreesItsBlocksWithinOneStepAndHearsNothingMore() {
        DeepseekModel model = model(1000);
        Scheduler scheduler = new Scheduler(() -> model, SchedulerLimits.DEFAULT, LayerObserver.NONE);
        Recorded cancelled = new Recorded();
        Recorded kept = new Recorded();
        Submission submission = scheduler.submit(greedy("p2"), cancelled);
        scheduler.submit(greedy("p1"), kept);
        for (int i = 0; i < 3; i++) {
            scheduler.step();
        }
        long before = model.cacheUsage().usedBlocks();
        int heard = cancelled.tokens.size();
        submission.cancel();
        scheduler.step();
        assertThat(model.cacheUsage().usedBlocks()).isLessThan(before);
        while (scheduler.step()) {
            assertThat(cancelled.tokens).hasSize(heard);
        }
        assertThat(cancelled.finished).isNull();
        assertThat(kept.finished.tokenIds()).containsExactly(golden.ints("p1.greedy_tokens"));
        assertThat(model.cacheUsage().usedBlocks()).isZero();
    }

    @Test
    void beyondTheWaitingLimitRequestsAreRefused() {
        DeepseekModel model = model(1000);
        Scheduler scheduler = new Scheduler(() -> model, new SchedulerLimits(1, 64, 2), LayerObserver.NONE);
        scheduler.submit(greedy("p1"), new Recorded());
        scheduler.submit(greedy("p1"), new Recorded());
        assertThatThrownBy(() -> scheduler.submit(greedy("p1"), new Recorded()))
                .isInstanceOf(QueueFullException.class).hasMessageContaining("2 requests are already waiting");
        scheduler.step();
        assertThat(scheduler.waiting()).isEqualTo(1);
        scheduler.submit(greedy("p1"), new Recorded());
    }

    @Test
    void aPromptLongerThanTheWholeCacheIsRefusedAtOnce() {
        DeepseekModel model = model(4);
        Scheduler scheduler = new Scheduler(() -> model, SchedulerLimits.DEFAULT, LayerObserver.NONE);
        assertThatThrownBy(() -> scheduler.submit(greedy("p2"), new Recorded()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("the KV cache holds at most 16");
    }

    @Test
    void aFailedStepFailsItsSequencesAndTheNextRequestsAreServed() {
        DeepseekModel model = model(1000);
        boolean[] broken = {true};
        Scheduler scheduler = new Scheduler(() -> model, SchedulerLimits.DEFAULT, new LayerObserver() {
            @Override
            public void hiddenStates(int layer, float[] hidden) {
                if (broken[0]) {
                    throw new IllegalStateException("worker gone");
                }
            }
        });
        Recorded failed = new Recorded();
        scheduler.submit(greedy("p1"), failed);
        scheduler.step();
        assertThat(failed.failure).hasMessage("worker gone");
        assertThat(model.cacheUsage().usedBlocks()).isZero();
        broken[0] = false;
        Recorded served = new Recorded();
        scheduler.submit(greedy("p1"), served);
        while (scheduler.step()) {
            assertThat(failed.tokens).isEmpty();
        }
        assertThat(served.finished.tokenIds()).containsExactly(golden.ints("p1.greedy_tokens"));
    }

    @Test
    void logprobsAreTheLogSoftmaxOfTheLogitsWithTheGreedyTokenMostLikely() {
        DeepseekModel model = model(1000);
        Scheduler scheduler = new Scheduler(() -> model, SchedulerLimits.DEFAULT, LayerObserver.NONE);
        Recorded r = new Recorded();
        int[] prompt = golden.ints("p1.input_ids");
        scheduler.submit(new GenerationRequest(prompt, SamplingParams.GREEDY, 1, Set.of(), false, OptionalInt.of(3)), r);
        while (scheduler.step()) {
        }
        TokenLogprob logprob = r.logprobs.getFirst();
        float[] expected = golden.floats("p1.logits");
        int vocab = config.vocabSize();
        int last = (prompt.length - 1) * vocab;
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, expected[last + i]);
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp(expected[last + i] - max);
        }
        double expectedLogprob = expected[last + logprob.tokenId()] - max - Math.log(sum);
        assertThat((double) logprob.logprob()).isCloseTo(expectedLogprob, org.assertj.core.data.Offset.offset(1e-4));
        assertThat(logprob.top()).hasSize(3);
        assertThat(logprob.top().getFirst().tokenId()).isEqualTo(logprob.tokenId());
        assertThat(logprob.top().get(1).logprob()).isLessThanOrEqualTo(logprob.top().getFirst().logprob());
    }

    private static final class Recorded implements GenerationListener {
        final List<Integer> tokens = new ArrayList<>();
        final List<TokenLogprob> logprobs = new ArrayList<>();
        Generation finished;
        RuntimeException failure;

        @Override
        public void token(int tokenId, TokenLogprob logprob) {
            tokens.add(tokenId);
            if (logprob != null) {
                logprobs.add(logprob);
            }
        }

        @Override
        public void finished(Generation generation) {
            finished = generation;
        }

        @Override
        public void failed(RuntimeException cause) {
            failure = cause;
        }
    }
}
