package dev.expertmesh.cuda.stage;

import dev.expertmesh.Fixtures;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.cuda.binding.CudaDriver;
import dev.expertmesh.cuda.binding.CudaException;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.Generation;
import dev.expertmesh.engine.GenerationRequest;
import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.engine.TokenSink;
import dev.expertmesh.sampling.SamplingParams;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The GPU engine against the CPU engine (the reference) on the tiny fixtures: bf16 on the GPU, so
 * logits agree within 1e-2 relative and greedy tokens exactly. Needs a CUDA device; run on the GPU
 * machine by cuda/gpu-check.sh.
 */
@Tag("gpu")
class CudaEngineTest {
    private static final String[] PROMPTS = {"p0", "p1", "p2", "p3"};
    private static final int NEW_TOKENS = 12;

    /** Skips the calling test, with the reason, on a machine without a CUDA device. */
    static void assumeAGpu() {
        int devices;
        try {
            devices = CudaDriver.load().deviceCount();
        } catch (CudaException noDriver) {
            devices = 0;
        }
        assumeTrue(devices > 0, "no CUDA device on this machine (a GPU test: cuda/gpu-check.sh runs it on a GPU machine)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-v2-lite", "tiny-v2", "tiny-v3"})
    void logitsAndGreedyTokensMatchTheCpuEngine(String name) {
        assumeAGpu();
        Path model = Fixtures.model(name);
        List<int[]> prompts = new ArrayList<>();
        try (var golden = Fixtures.golden(name)) {
            for (String prompt : PROMPTS) {
                prompts.add(golden.ints(prompt + ".input_ids"));
            }
        }
        try (Engine cpu = Engine.load(model, new CpuBackend()); Engine gpu = CudaEngines.load(model, 0)) {
            for (int[] prompt : prompts) {
                float[] expected = cpu.score(prompt, LayerObserver.NONE);
                assertThat(Fixtures.relativeError(gpu.score(prompt, LayerObserver.NONE), expected))
                        .as("%s, prompt of %d tokens", name, prompt.length).isLessThan(1e-2);
            }
            List<GenerationRequest> requests = prompts.stream()
                    .map(p -> new GenerationRequest(p, SamplingParams.GREEDY, NEW_TOKENS)).toList();
            List<Generation> expected = cpu.generate(requests, TokenSink.NONE);
            List<Generation> actual = gpu.generate(requests, TokenSink.NONE);
            for (int i = 0; i < requests.size(); i++) {
                assertThat(actual.get(i).tokenIds()).as("%s, %s", name, PROMPTS[i]).containsExactly(expected.get(i).tokenIds());
            }
        }
    }
}
