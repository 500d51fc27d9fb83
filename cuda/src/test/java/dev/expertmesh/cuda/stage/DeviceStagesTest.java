package dev.expertmesh.cuda.stage;

import dev.expertmesh.Fixtures;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.cuda.device.Device;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.Generation;
import dev.expertmesh.engine.GenerationRequest;
import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.engine.TokenSink;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.Quantization;
import dev.expertmesh.quantization.QuantizationPlan;
import dev.expertmesh.sampling.SamplingParams;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static dev.expertmesh.cuda.GpuComparison.LOGITS_TOLERANCE;
import static dev.expertmesh.cuda.GpuComparison.assumeAGpu;
import static dev.expertmesh.cuda.GpuComparison.decidedSteps;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The single-process engine DeviceStages builds for --device cuda with a quantization plan, against
 * the CPU engine with the same plan in the GPU's precision ({@link Bf16GemmBackend}): both read the
 * same packed bytes, so what differs is the GPU code and its bf16 latent cache. With quantized
 * attention the GPU's kv_b_proj is also rounded to bf16 (cuBLAS reads it per head), which moves the
 * logits by about as much again (measured 1.0e-2 and 1.1e-2 at most with INT8 and FP8): those plans
 * are held to the bf16 engine's bound, {@link dev.expertmesh.cuda.GpuComparison#LOGITS_TOLERANCE}.
 */
@Tag("gpu")
class DeviceStagesTest {
    private static final String MODEL = "tiny-v2-lite";
    /** The bound for quantized experts; measured on the emulated GPU with INT8 experts: 2.7e-3 to 6.7e-3 relative. */
    private static final double EXPERTS_TOLERANCE = 1e-2;

    @ParameterizedTest
    @CsvSource({"int8, false", "int4-g64, false", "int4-g128, false", "fp8, false", "int8, true", "fp8, true"})
    void quantizedWeightsOnTheGpuMatchTheSameQuantizedWeightsOnTheCpu(String quantize, boolean withAttention) {
        assumeAGpu();
        Path dir = Fixtures.model(MODEL);
        ModelConfig config = ModelConfig.load(dir);
        QuantizationPlan plan = QuantizationPlan.of(Quantization.parse(quantize), withAttention);
        try (Engine cpu = Engine.create(config, Checkpoint.open(dir), new Bf16GemmBackend(), MODEL, plan);
             Engine gpu = DeviceStages.engine(new Device.Cuda(0), config, Checkpoint.open(dir), MODEL, plan);
             var golden = Fixtures.golden(MODEL)) {
            for (String prompt : List.of("p0", "p1", "p2", "p3")) {
                int[] ids = golden.ints(prompt + ".input_ids");
                assertThat(Fixtures.relativeError(gpu.score(ids, LayerObserver.NONE), cpu.score(ids, LayerObserver.NONE)))
                        .as("%s: %s logits", plan.label(), prompt).isLessThan(withAttention ? LOGITS_TOLERANCE : EXPERTS_TOLERANCE);
            }
            for (String prompt : List.of("p1", "p2")) {
                GenerationRequest request = new GenerationRequest(golden.ints(prompt + ".input_ids"), SamplingParams.GREEDY,
                        golden.ints(prompt + ".greedy_tokens").length);
                int[] expected = cpu.generate(List.of(request), TokenSink.NONE).getFirst().tokenIds();
                Generation actual = gpu.generate(List.of(request), TokenSink.NONE).getFirst();
                int decided = decidedSteps(cpu, gpu, request.promptIds(), expected);
                assertThat(decided).as("%s: %s greedy steps whose top-1 margin exceeds the engines' difference", plan.label(), prompt)
                        .isPositive();
                assertThat(Arrays.copyOf(actual.tokenIds(), decided)).as("%s: %s greedy tokens", plan.label(), prompt)
                        .containsExactly(Arrays.copyOf(expected, decided));
            }
        }
    }
}
