package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.launcher.Commands.Run;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * `expertmesh eval` on tiny-v2-lite over the start of the project's prose in chunks of 128 tokens:
 * enough text for the 2048 scored tokens the command asks for, little enough for seconds a run.
 */
class EvalCommandTest {
    private static final String MODEL = "tiny-v2-lite";
    /** Characters of the prose that the tiny tokenizer makes into a little over 33 chunks of 128. */
    private static final int TEXT_CHARS = 9_000;

    @TempDir
    static Path dir;
    private static Path text;

    @BeforeAll
    static void writeText() throws IOException {
        String prose = Files.readString(testdata().resolve("text").resolve("expertmesh-prose.txt"));
        text = Files.writeString(dir.resolve("prose.txt"), prose.substring(0, TEXT_CHARS));
    }

    @Test
    void theModelAgainstItselfDiffersInNothing() throws Exception {
        JsonNode r = eval("--quantize", "none");
        assertThat(r.get("tokens").asInt()).isGreaterThanOrEqualTo(EvalCommand.MIN_TOKENS);
        assertThat(r.get("meanKl").asDouble()).isZero();
        assertThat(r.get("maxKl").asDouble()).isZero();
        assertThat(r.get("top1Agreement").asDouble()).isEqualTo(1.0);
        assertThat(r.get("candidatePerplexity").asDouble()).isEqualTo(r.get("referencePerplexity").asDouble());
    }

    @Test
    void int8ExpertsMoveTheModelMoreThanBf16Transport() throws Exception {
        JsonNode int8 = eval("--quantize", "int8");
        JsonNode bf16 = eval("--cluster", "--transport", "bf16");
        assertThat(int8.get("tokens").asInt()).isEqualTo(bf16.get("tokens").asInt());
        // Measured on these 2268 tokens: INT8 experts mean KL 5.99e-5 nats, top-1 98.28% (39 flips); bf16
        // transport 2.01e-5 and 99.29% (16 flips). Rounding every hidden vector on the wire to 8 bits of
        // mantissa moves this model less than rounding expert weights to 8 bits, so the hope (INT8 at
        // least as good as bf16 transport) does not hold here: what holds is asserted. Bounds: 5x on KL, twice the flips.
        assertThat(int8.get("meanKl").asDouble()).isGreaterThan(0).isLessThan(3e-4);
        assertThat(int8.get("top1Agreement").asDouble()).isGreaterThanOrEqualTo(0.965);
        assertThat(bf16.get("meanKl").asDouble()).isGreaterThan(0).isLessThan(int8.get("meanKl").asDouble());
        assertThat(bf16.get("top1Agreement").asDouble()).isGreaterThanOrEqualTo(int8.get("top1Agreement").asDouble());
    }

    @Test
    void theTableNamesTheCandidateAndEveryMeasure() {
        Run r = Commands.run(args("--quantize", "int8").toArray(String[]::new));
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("candidate: experts int8, attention and dense none", "scored tokens (second half of each chunk of 128)",
                "perplexity (reference)", "perplexity (candidate)", "mean KL (nats)", "p99 KL (nats)", "max KL (nats)", "top-1 agreement");
        assertThat(r.err()).contains("eval: chunk 1 of ");
    }

    @Test
    void aMissingTextIsAClearError() {
        Run r = Commands.run("eval", "--model", testdata().resolve("models").resolve(MODEL).toString(), "--tokenizer", tokenizer(), "--text", "no-such.txt");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("error: --text no-such.txt: no such file" + System.lineSeparator());
    }

    @Test
    void aShortTextIsRefusedUnlessAllowed() throws Exception {
        Path shortText = Files.writeString(dir.resolve("short.txt"), "A short text of a few tokens only, far from a measure.");
        List<String> args = new ArrayList<>(List.of("eval", "--model", testdata().resolve("models").resolve(MODEL).toString(), "--tokenizer", tokenizer(),
                "--text", shortText.toString(), "--ctx", "8"));
        Run refused = Commands.run(args.toArray(String[]::new));
        assertThat(refused.exitCode()).isEqualTo(2);
        assertThat(refused.err()).startsWith("error: --text " + shortText).contains("fewer than the 2048 a measure needs", "--allow-short");
        args.addAll(List.of("--allow-short", "--json"));
        Run allowed = Commands.run(args.toArray(String[]::new));
        assertThat(allowed.exitCode()).as(allowed.err()).isZero();
        assertThat(new ObjectMapper().readTree(allowed.out()).get("tokens").asInt()).isPositive().isLessThan(EvalCommand.MIN_TOKENS);
    }

    @Test
    void anUnknownFormatIsAClearError() {
        Run r = Commands.run(args("--quantize", "int3").toArray(String[]::new));
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).startsWith("error: --quantize int3: choose one of none, int8");
    }

    private static JsonNode eval(String... candidate) throws Exception {
        List<String> args = args(candidate);
        args.add("--json");
        Run r = Commands.run(args.toArray(String[]::new));
        assertThat(r.exitCode()).as(r.err()).isZero();
        return new ObjectMapper().readTree(r.out());
    }

    private static List<String> args(String... candidate) {
        List<String> args = new ArrayList<>(List.of("eval", "--model", testdata().resolve("models").resolve(MODEL).toString(), "--tokenizer", tokenizer(),
                "--text", text.toString(), "--ctx", "128"));
        args.addAll(List.of(candidate));
        return args;
    }

    private static String tokenizer() {
        return testdata().resolve("tokenizers").resolve("tiny").toString();
    }

    private static Path testdata() {
        return Path.of(System.getProperty("expertmesh.testdata"));
    }
}
