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
import dev.expertmesh.sampling.SamplingParams;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static dev.expertmesh.cuda.GpuComparison.assumeAGpu;
import static dev.expertmesh.cuda.GpuComparison.decidedSteps;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The single-process engine DeviceStages builds for --device cuda with quantized experts, against
 * the CPU engine with the same quantized experts in the GPU's precision ({@link Bf16GemmBackend}):
 * both read the same packed bytes, so what differs is the GPU code and its bf16 latent cache.
 */
@Tag("gpu")
class DeviceStagesTest {
    private static final String MODEL = "tiny-v2-lite";
    /** The bound; measured on the emulated GPU: 2.7e-3 to 6.7e-3 relative over the four prompts. */
    private static final double LOGITS_TOLERANCE = 1e-2;

    @Test
    void int8ExpertsOnTheGpuMatchInt8ExpertsOnTheCpu() {
        assumeAGpu();
        Path dir = Fixtures.model(MODEL);
        ModelConfig config = ModelConfig.load(dir);
        try (Engine cpu = Engine.create(config, Checkpoint.open(dir), new Bf16GemmBackend(), MODEL, Quantization.INT8);
             Engine gpu = DeviceStages.engine(new Device.Cuda(0), config, Checkpoint.open(dir), MODEL, Quantization.INT8);
             var golden = Fixtures.golden(MODEL)) {
            for (String prompt : List.of("p0", "p1", "p2", "p3")) {
                int[] ids = golden.ints(prompt + ".input_ids");
                assertThat(Fixtures.relativeError(gpu.score(ids, LayerObserver.NONE), cpu.score(ids, LayerObserver.NONE)))
                        .as("%s logits", prompt).isLessThan(LOGITS_TOLERANCE);
            }
            for (String prompt : List.of("p1", "p2")) {
                GenerationRequest request = new GenerationRequest(golden.ints(prompt + ".input_ids"), SamplingParams.GREEDY,
                        golden.ints(prompt + ".greedy_tokens").length);
                int[] expected = cpu.generate(List.of(request), TokenSink.NONE).getFirst().tokenIds();
                Generation actual = gpu.generate(List.of(request), TokenSink.NONE).getFirst();
                int decided = decidedSteps(cpu, gpu, request.promptIds(), expected);
                assertThat(decided).as("%s: greedy steps whose top-1 margin exceeds the engines' difference", prompt).isPositive();
                assertThat(Arrays.copyOf(actual.tokenIds(), decided)).as("%s greedy tokens", prompt)
                        .containsExactly(Arrays.copyOf(expected, decided));
            }
        }
    }
}
