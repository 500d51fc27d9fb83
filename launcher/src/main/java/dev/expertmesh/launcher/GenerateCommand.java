package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.Generation;
import dev.expertmesh.engine.GenerationRequest;
import dev.expertmesh.sampling.SamplingParams;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Continues the prompt: prefill, then decoding step by step with the latent KV cache, "
                + "until an end-of-sequence token or --max-tokens.")
final class GenerateCommand implements Callable<Integer> {
    enum Format { text, json }

    @Mixin
    ModelOptions options;

    @Option(names = "--max-tokens", required = true, paramLabel = "N", description = "Most tokens to generate.")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0", paramLabel = "T",
            description = "Sampling temperature; 0 (the default) is greedy. Default: ${DEFAULT-VALUE}.")
    double temperature;

    @Option(names = "--top-k", defaultValue = "0", paramLabel = "K",
            description = "Sample among the K most likely tokens; 0 keeps all. Default: ${DEFAULT-VALUE}.")
    int topK;

    @Option(names = "--top-p", defaultValue = "1", paramLabel = "P",
            description = "Sample among the most likely tokens whose probabilities add up to P. Default: ${DEFAULT-VALUE}.")
    double topP;

    @Option(names = "--seed", paramLabel = "S", description = "Random seed, for repeatable sampling.")
    Long seed;

    @Option(names = "--format", defaultValue = "text", paramLabel = "FORMAT",
            description = "text (token ids and the finish reason) or json (one line). Default: ${DEFAULT-VALUE}.")
    Format format;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        var request = new GenerationRequest(options.promptIds(), new SamplingParams(temperature, topK, topP, seed), maxTokens);
        try (Engine engine = Engine.load(options.model, new CpuBackend())) {
            long start = System.nanoTime();
            Generation g = engine.generate(request);
            double seconds = (System.nanoTime() - start) / 1e9;
            print(g, seconds, spec.commandLine().getOut());
        }
        return 0;
    }

    private void print(Generation g, double seconds, PrintWriter out) throws Exception {
        if (format == Format.json) {
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("token_ids", g.tokenIds());
            json.put("finish_reason", g.finishReason().apiName());
            json.put("prompt_tokens", g.promptTokens());
            json.put("completion_tokens", g.tokenIds().length);
            json.put("seconds", Math.round(seconds * 1000) / 1000.0);
            out.println(new ObjectMapper().writeValueAsString(json));
            return;
        }
        out.println(Arrays.stream(g.tokenIds()).mapToObj(Integer::toString).collect(Collectors.joining(",")));
        out.printf("finish reason: %s, %d tokens in %.2f s (%.1f tokens/s)%n", g.finishReason().apiName(),
                g.tokenIds().length, seconds, g.tokenIds().length / seconds);
    }
}
