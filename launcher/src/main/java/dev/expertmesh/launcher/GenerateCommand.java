package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.Generation;
import dev.expertmesh.engine.GenerationRequest;
import dev.expertmesh.sampling.SamplingParams;
import dev.expertmesh.tokenizer.StreamingDetokenizer;
import dev.expertmesh.tokenizer.Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Continues the prompt: prefill, then decoding step by step with the latent KV cache, "
                + "until an end-of-sequence token or --max-tokens. With a tokenizer, text streams as it is generated.")
final class GenerateCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @ArgGroup(multiplicity = "1")
    PromptOptions prompt;

    @Option(names = "--max-tokens", defaultValue = "64", paramLabel = "N", description = "Most tokens to generate. Default: ${DEFAULT-VALUE}.")
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
            description = "text (streamed text with a tokenizer, else token ids) or json (one line at the end). Default: ${DEFAULT-VALUE}.")
    Output.Format format;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        SamplingParams sampling = new SamplingParams(temperature, topK, topP, seed);
        Optional<Tokenizer> tokenizer = model.openTokenizer();
        try (Engine engine = model.openEngine()) {
            var request = new GenerationRequest(prompt.tokenIds(tokenizer), sampling, maxTokens);
            PrintWriter out = spec.commandLine().getOut();
            List<Integer> eos = engine.config().eosTokenIds();
            StreamingDetokenizer stream = tokenizer.filter(t -> format == Output.Format.text).map(StreamingDetokenizer::new).orElse(null);
            long start = System.nanoTime();
            Generation g = engine.generate(List.of(request), (r, token) -> {
                if (stream != null && !eos.contains(token)) {
                    out.print(stream.add(token));
                    out.flush();
                }
            }).getFirst();
            double seconds = (System.nanoTime() - start) / 1e9;
            if (stream != null) {
                out.println(stream.finish());
            }
            print(g, tokenizer, eos, seconds, out, stream != null);
        } finally {
            tokenizer.ifPresent(Tokenizer::close);
        }
        return 0;
    }

    private void print(Generation g, Optional<Tokenizer> tokenizer, List<Integer> eos, double seconds, PrintWriter out,
                       boolean streamed) throws Exception {
        int[] ids = g.tokenIds();
        if (format == Output.Format.json) {
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("token_ids", ids);
            tokenizer.ifPresent(t -> json.put("text", t.decode(Arrays.stream(ids).filter(id -> !eos.contains(id)).toArray())));
            json.put("finish_reason", g.finishReason().apiName());
            json.put("prompt_tokens", g.promptTokens());
            json.put("completion_tokens", ids.length);
            json.put("seconds", Math.round(seconds * 1000) / 1000.0);
            out.println(new ObjectMapper().writeValueAsString(json));
            return;
        }
        if (!streamed) {
            out.println(Output.commaSeparated(ids));
        }
        spec.commandLine().getErr().printf("[%s, %d tokens in %.2f s, %.1f tokens/s]%n", g.finishReason().apiName(),
                ids.length, seconds, ids.length / seconds);
    }
}
