package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.engine.FinishReason;
import dev.expertmesh.engine.Generation;
import dev.expertmesh.engine.GenerationRequest;
import dev.expertmesh.engine.TokenSink;
import dev.expertmesh.sampling.SamplingParams;
import dev.expertmesh.tokenizer.StreamingDetokenizer;
import dev.expertmesh.tokenizer.Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** The prompt, the sampling and the output of a generation, and printing it as it streams. */
final class GenerationOptions {
    @ArgGroup(multiplicity = "0..1")
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

    /** Where the tokens come from: this process's engine, or a coordinator. */
    interface Generator {
        Generation generate(GenerationRequest request, TokenSink sink);
    }

    boolean hasPrompt() {
        return prompt != null;
    }

    /** The request, checked before anything is loaded. */
    GenerationRequest request(Optional<Tokenizer> tokenizer) {
        if (prompt == null) {
            throw new IllegalArgumentException("no prompt: give --prompt TEXT, --chat JSON or --prompt-ids IDS");
        }
        SamplingParams sampling = new SamplingParams(temperature, topK, topP, seed);
        return new GenerationRequest(prompt.tokenIds(tokenizer), sampling, maxTokens);
    }

    void run(Generator generator, GenerationRequest request, Optional<Tokenizer> tokenizer, PrintWriter out, PrintWriter err) throws Exception {
        TextStream text = tokenizer.filter(t -> format == Output.Format.text).map(t -> new TextStream(t, out)).orElse(null);
        long start = System.nanoTime();
        Generation g = generator.generate(request, (r, token) -> {
            if (text != null) {
                text.accept(token);
            }
        });
        double seconds = (System.nanoTime() - start) / 1e9;
        if (text != null) {
            text.finish(g.finishReason());
        }
        print(g, tokenizer, seconds, out, err, text != null);
    }

    /**
     * Streams text, one token behind: a token is shown once the next arrives, so the end-of-sequence
     * token that stops generation (whatever its id) is never printed.
     */
    private static final class TextStream {
        private final StreamingDetokenizer detokenizer;
        private final PrintWriter out;
        private Integer held;

        TextStream(Tokenizer tokenizer, PrintWriter out) {
            this.detokenizer = new StreamingDetokenizer(tokenizer);
            this.out = out;
        }

        void accept(int token) {
            if (held != null) {
                out.print(detokenizer.add(held));
                out.flush();
            }
            held = token;
        }

        void finish(FinishReason reason) {
            if (held != null && reason != FinishReason.STOP) {
                out.print(detokenizer.add(held));
            }
            out.println(detokenizer.finish());
        }
    }

    /** The generated ids without the end-of-sequence token that stopped generation. */
    private static int[] textIds(Generation g) {
        int[] ids = g.tokenIds();
        return g.finishReason() == FinishReason.STOP ? Arrays.copyOf(ids, ids.length - 1) : ids;
    }

    private void print(Generation g, Optional<Tokenizer> tokenizer, double seconds, PrintWriter out, PrintWriter err, boolean streamed) throws Exception {
        int[] ids = g.tokenIds();
        if (format == Output.Format.json) {
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("token_ids", ids);
            tokenizer.ifPresent(t -> json.put("text", t.decode(textIds(g))));
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
        err.printf("[%s, %d tokens in %.2f s, %.1f tokens/s]%n", g.finishReason().apiName(),
                ids.length, seconds, ids.length / seconds);
    }
}
