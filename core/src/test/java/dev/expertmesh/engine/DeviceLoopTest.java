package dev.expertmesh.engine;

import dev.expertmesh.Fixtures;
import dev.expertmesh.attention.SequenceChunk;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.QuantizationPlan;
import dev.expertmesh.sampling.SamplingParams;
import dev.expertmesh.sampling.TokenLogprob;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * DeepseekModel with a device loop: unobserved steps go to the loop, observed ones run the host
 * loop, and a greedy scheduler step asks the loop for tokens, never for logits. The loop here
 * records its calls and answers with the host loop's own results, so any step routed wrongly shows.
 */
class DeviceLoopTest {
    private static final Path MODEL = Fixtures.model("tiny-v2-lite");
    private static final LayerObserver OBSERVED = new LayerObserver() {
    };

    /** Answers as the host model does, counting what it was asked. */
    private static final class RecordingLoop implements DeviceLoop {
        DeepseekModel host;
        int logitsCalls;
        int greedyCalls;

        @Override
        public float[] logits(List<SequenceChunk> chunks, int[] tokenIds, boolean allPositions) {
            logitsCalls++;
            return host.forward(chunks, tokenIds, allPositions, OBSERVED);
        }

        @Override
        public int[] greedyTokens(List<SequenceChunk> chunks, int[] tokenIds) {
            greedyCalls++;
            return host.greedyTokens(chunks, tokenIds, OBSERVED);
        }
    }

    @Test
    void unobservedStepsRunOnTheLoopAndGreedyStepsAskItForTokens() {
        try (TensorSource weights = Checkpoint.open(MODEL); Arena arena = Arena.ofShared(); var golden = Fixtures.golden("tiny-v2-lite")) {
            ModelConfig config = ModelConfig.load(MODEL);
            DeepseekModel host = DeepseekModel.load(weights, config, new CpuBackend(), arena, QuantizationPlan.NONE);
            RecordingLoop loop = new RecordingLoop();
            loop.host = host;
            DeepseekModel model = host.onDevice(loop);
            int[] prompt = golden.ints("p1.input_ids");
            int tokens = golden.ints("p1.greedy_tokens").length;

            long id = DeepseekModel.newSequenceId();
            model.forward(List.of(new SequenceChunk(id, 0, prompt.length)), prompt, true, OBSERVED);
            assertThat(loop.logitsCalls).as("an observed step runs the host loop").isZero();
            model.release(id);

            List<Integer> generated = new ArrayList<>();
            try (Scheduler scheduler = new Scheduler(() -> model, SchedulerLimits.UNLIMITED, LayerObserver.NONE)) {
                scheduler.submit(new GenerationRequest(prompt, SamplingParams.GREEDY, tokens), new GenerationListener() {
                    @Override
                    public void token(int tokenId, TokenLogprob logprob) {
                        generated.add(tokenId);
                    }

                    @Override
                    public void finished(Generation generation) {
                    }

                    @Override
                    public void failed(RuntimeException cause) {
                        throw cause;
                    }
                });
                while (scheduler.step()) {
                    assertThat(loop.logitsCalls).as("greedy steps download no logits").isZero();
                }
            }
            assertThat(loop.greedyCalls).as("one loop call a step").isEqualTo(tokens);
            assertThat(generated).containsExactlyElementsOf(Arrays.stream(golden.ints("p1.greedy_tokens")).boxed().toList());
        }
    }

    @Test
    void aTokenOutsideTheVocabularyIsRefusedBeforeTheLoopSeesIt() {
        try (TensorSource weights = Checkpoint.open(MODEL); Arena arena = Arena.ofShared()) {
            ModelConfig config = ModelConfig.load(MODEL);
            RecordingLoop loop = new RecordingLoop();
            DeepseekModel model = DeepseekModel.load(weights, config, new CpuBackend(), arena, QuantizationPlan.NONE).onDevice(loop);
            List<SequenceChunk> chunk = List.of(new SequenceChunk(DeepseekModel.newSequenceId(), 0, 1));
            assertThatThrownBy(() -> model.greedyTokens(chunk, new int[]{config.vocabSize()}, LayerObserver.NONE))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outside the vocabulary");
            assertThat(loop.greedyCalls).isZero();
        }
    }
}
