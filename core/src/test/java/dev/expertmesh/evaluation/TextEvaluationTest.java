package dev.expertmesh.evaluation;

import dev.expertmesh.Fixtures;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.Quantization;
import dev.expertmesh.quantization.QuantizationPlan;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The measure on tiny-v2-lite over the start of the project's own prose: the chunks of 128 tokens
 * that give the 2048 scored positions eval asks for at least, so that the tests take seconds.
 */
class TextEvaluationTest {
    private static final String MODEL = "tiny-v2-lite";
    private static final int CONTEXT = 128;
    private static int[] tokens;

    @BeforeAll
    static void tokenize() {
        tokens = Fixtures.proseTokens(CONTEXT);
    }

    @Test
    void anIdenticalCandidateDiffersInNothing() {
        try (Engine reference = engine(Quantization.NONE); Engine candidate = engine(Quantization.NONE)) {
            EvaluationResult r = TextEvaluation.run(tokens, CONTEXT, reference, candidate, TextEvaluation.Progress.NONE);
            assertThat(r.tokens()).isEqualTo(TextEvaluation.scoredPositions(tokens.length, CONTEXT)).isGreaterThanOrEqualTo(2048);
            assertThat(r.meanKl()).isZero();
            assertThat(r.maxKl()).isZero();
            assertThat(r.top1Agreement()).isEqualTo(1.0);
            assertThat(r.candidatePerplexity()).isEqualTo(r.referencePerplexity());
            assertThat(r.referencePerplexity()).isGreaterThan(1);
        }
    }

    /**
     * Quantized routed and shared experts against the unquantized model, measured on 2079 positions.
     * The bounds leave 2x the measured mean KL and 2 points of top-1 agreement (the fixture's random
     * weights leave near-ties between top tokens, which another CPU's vector width, summing in
     * another order, may flip); KL above zero shows the experts were quantized. tiny-v2-lite's expert rows are 64 and 32 columns, one INT4 group either way,
     * so g64 and g128 measure alike here.
     */
    @ParameterizedTest(name = "{0}: measured mean KL {1}, top-1 {2}")
    @CsvSource({
            "int8,      6.09e-5, 0.983",
            "fp8,       1.06e-3, 0.931",
            "int4-g64,  1.57e-2, 0.715",
            "int4-g128, 1.57e-2, 0.715"})
    void quantizedExpertsStayCloseToTheUnquantizedModel(String format, double measuredKl, double measuredTop1) {
        try (Engine reference = engine(Quantization.NONE); Engine quantized = engine(Quantization.parse(format))) {
            EvaluationResult r = TextEvaluation.run(tokens, CONTEXT, reference, quantized, TextEvaluation.Progress.NONE);
            assertThat(r.meanKl()).as("mean KL divergence (nats)").isGreaterThan(0).isLessThan(2 * measuredKl);
            assertThat(r.top1Agreement()).as("top-1 agreement").isGreaterThanOrEqualTo(measuredTop1 - 0.02);
        }
    }

    @Test
    void aTextShorterThanOneChunkIsAClearError() {
        try (Engine reference = engine(Quantization.NONE)) {
            assertThatThrownBy(() -> TextEvaluation.run(new int[CONTEXT - 1], CONTEXT, reference, reference, TextEvaluation.Progress.NONE))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("fewer than one chunk");
        }
    }

    private static Engine engine(Quantization experts) {
        Path dir = Fixtures.model(MODEL);
        return Engine.create(ModelConfig.load(dir), Checkpoint.open(dir), new CpuBackend(), MODEL, QuantizationPlan.of(experts, false));
    }
}
