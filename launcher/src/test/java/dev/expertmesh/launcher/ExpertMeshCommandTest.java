package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.Fixtures;
import dev.expertmesh.launcher.Commands.Run;
import dev.expertmesh.checkpoint.SafetensorsFile;
import dev.expertmesh.demo.DemoModel;
import dev.expertmesh.tokenizer.Tokenizer;
import dev.expertmesh.tensor.Weight;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The score and generate commands as a user runs them, checked against transformers' reference outputs. */
class ExpertMeshCommandTest {

    @Test
    void scoreWritesTheLogitsAtEveryPositionAsSafetensors(@TempDir Path tmp) {
        Path output = tmp.resolve("logits.safetensors");
        try (var golden = Fixtures.golden("tiny-v2")) {
            int[] prompt = golden.ints("p2.input_ids");
            Run r = Commands.run("score", "--model", Fixtures.model("tiny-v2").toString(), "--prompt-ids", Output.commaSeparated(prompt),
                    "--output", output.toString());
            assertThat(r.exitCode()).as(r.err()).isZero();
            assertThat(r.out()).contains("wrote logits [37, 1024]");
            try (var written = SafetensorsFile.open(output); Arena arena = Arena.ofConfined()) {
                var logits = written.map("logits", arena);
                assertThat(logits.shape()).containsExactly(prompt.length, 1024);
                assertThat(Fixtures.relativeError(Weight.toFloats(logits), golden.floats("p2.logits"))).isLessThan(1e-5);
            }
        }
    }

    @Test
    void generateJsonPrintsTheGreedyTokensOfTransformers() throws Exception {
        try (var golden = Fixtures.golden("tiny-v3")) {
            int[] expected = golden.ints("p1.greedy_tokens");
            Run r = Commands.run("generate", "--model", Fixtures.model("tiny-v3").toString(), "--prompt-ids", Output.commaSeparated(golden.ints("p1.input_ids")),
                    "--max-tokens", String.valueOf(expected.length), "--format", "json");
            assertThat(r.exitCode()).as(r.err()).isZero();
            JsonNode json = new ObjectMapper().readTree(r.out());
            int[] tokens = new int[json.get("token_ids").size()];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = json.get("token_ids").get(i).asInt();
            }
            assertThat(tokens).containsExactly(expected);
            assertThat(json.get("finish_reason").asText()).isEqualTo("length");
            assertThat(json.get("prompt_tokens").asInt()).isEqualTo(6);
            assertThat(json.get("completion_tokens").asInt()).isEqualTo(expected.length);
        }
    }

    @Test
    void generateRunsWithInt8ExpertsAndRefusesAnUnknownFormatInOneLine() throws Exception {
        String model = Fixtures.model("tiny-v2-lite").toString();
        Run int8 = Commands.run("generate", "--model", model, "--prompt-ids", "0,5,9", "--max-tokens", "6", "--quantize", "int8",
                "--format", "json");
        assertThat(int8.exitCode()).as(int8.err()).isZero();
        JsonNode json = new ObjectMapper().readTree(int8.out());
        assertThat(json.get("completion_tokens").asInt()).isEqualTo(6);
        assertThat(json.get("finish_reason").asText()).isEqualTo("length");

        Run int9 = Commands.run("generate", "--model", model, "--prompt-ids", "0,5,9", "--max-tokens", "6", "--quantize", "int9");
        assertThat(int9.exitCode()).isEqualTo(2);
        assertThat(int9.err().strip()).isEqualTo("error: --quantize int9: choose one of none, int8, int4-g64, int4-g128, fp8");
    }

    @Test
    void seededSamplingRepeats() {
        String[] args = {"generate", "--model", Fixtures.model("tiny-v2-lite").toString(), "--prompt-ids", "0,5,9",
                "--max-tokens", "12", "--temperature", "1.0", "--top-p", "0.9", "--seed", "7", "--format", "json"};
        Run first = Commands.run(args);
        Run second = Commands.run(args);
        assertThat(first.exitCode()).as(first.err()).isZero();
        assertThat(first.out().replaceAll("\"seconds\":[0-9.]+", ""))
                .isEqualTo(second.out().replaceAll("\"seconds\":[0-9.]+", ""));
    }

    @Test
    void badInputGetsOneLineErrorsWithoutStackTraces(@TempDir Path tmp) throws Exception {
        Path model = Fixtures.model("tiny-v2-lite");
        Run missing = Commands.run("generate", "--model", tmp.resolve("absent").toString(), "--prompt-ids", "0", "--max-tokens", "2");
        assertThat(missing.exitCode()).isEqualTo(2);
        assertThat(missing.err()).contains("config.json not found").doesNotContain("\tat ");

        Run badIds = Commands.run("generate", "--model", model.toString(), "--prompt-ids", "0,five", "--max-tokens", "2");
        assertThat(badIds.exitCode()).isEqualTo(2);
        assertThat(badIds.err()).contains("'five' is not a token id");

        Run outOfVocab = Commands.run("generate", "--model", model.toString(), "--prompt-ids", "0,5000", "--max-tokens", "2");
        assertThat(outOfVocab.exitCode()).isEqualTo(2);
        assertThat(outOfVocab.err()).contains("token id 5000 is outside the vocabulary [0, 1024)");

        Run badTopP = Commands.run("generate", "--model", model.toString(), "--prompt-ids", "0", "--max-tokens", "2", "--top-p", "0");
        assertThat(badTopP.exitCode()).isEqualTo(2);
        assertThat(badTopP.err()).contains("top-p");

        Path copy = Files.createDirectory(tmp.resolve("mismatched"));
        try (var files = Files.list(model)) {
            for (Path f : files.toList()) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        Files.writeString(copy.resolve("config.json"), Files.readString(model.resolve("config.json")).replace("\"hidden_size\": 64", "\"hidden_size\": 80"));
        Run mismatched = Commands.run("score", "--model", copy.toString(), "--prompt-ids", "0", "--output", tmp.resolve("x").toString());
        assertThat(mismatched.exitCode()).isEqualTo(2);
        assertThat(mismatched.err()).contains("model-00001-of-00002.safetensors: tensor model.layers.0.")
                .contains("has shape [64] but config.json implies [80]")
                .doesNotContain("\tat ");
    }

    @Test
    void everyCommandHasHelp() {
        for (String command : new String[]{"score", "generate"}) {
            Run r = Commands.run(command, "--help");
            assertThat(r.exitCode()).isZero();
            assertThat(r.out()).contains("Usage: expertmesh " + command).contains("--model").contains("--prompt-ids");
        }
        assertThat(Commands.run("--help").out()).contains("score").contains("generate");
    }

    @Test
    void theDemoModelStreamsTextForATextPromptAndForAChat() throws Exception {
        Run text = Commands.run("generate", "--model", "demo", "--prompt", "Hello", "--max-tokens", "8", "--format", "json");
        assertThat(text.exitCode()).as(text.err()).isZero();
        JsonNode json = new ObjectMapper().readTree(text.out());
        assertThat(json.get("completion_tokens").asInt()).isBetween(1, 8);
        assertThat(json.get("prompt_tokens").asInt()).isEqualTo(1);
        try (Tokenizer tokenizer = DemoModel.tokenizer()) {
            int[] ids = new int[json.get("token_ids").size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = json.get("token_ids").get(i).asInt();
            }
            assertThat(json.get("text").asText()).isEqualTo(tokenizer.decode(ids));

            Run streamed = Commands.run("generate", "--model", "demo", "--prompt", "Hello", "--max-tokens", "8");
            assertThat(streamed.exitCode()).as(streamed.err()).isZero();
            assertThat(streamed.out()).isEqualTo(tokenizer.decode(ids) + System.lineSeparator());
            assertThat(streamed.err()).contains("tokens/s");
        }

        Run chat = Commands.run("generate", "--model", "demo", "--chat", "[{\"role\": \"user\", \"content\": \"Hi\"}]", "--max-tokens", "3", "--format", "json");
        assertThat(chat.exitCode()).as(chat.err()).isZero();
        assertThat(new ObjectMapper().readTree(chat.out()).get("prompt_tokens").asInt()).isEqualTo(4);
    }

    @Test
    void tokenizePrintsTheIdsOfTextAndOfAChat(@TempDir Path tmp) throws Exception {
        Run text = Commands.run("tokenize", "--model", "demo", "--text", "Hello, world!");
        assertThat(text.exitCode()).as(text.err()).isZero();
        assertThat(text.out().strip()).isEqualTo("19923,14,2058,3");

        Run chat = Commands.run("tokenize", "--tokenizer", tokenizerDirectory(tmp).toString(),
                "--chat", "[{\"role\": \"user\", \"content\": \"Hi\"}]", "--format", "json");
        assertThat(chat.exitCode()).as(chat.err()).isZero();
        assertThat(new ObjectMapper().readTree(chat.out()).get("token_ids").toString()).isEqualTo("[0,128803,23166,128804]");
    }

    @Test
    void aTextPromptWithoutATokenizerIsRefusedWithTheFix() {
        Run r = Commands.run("generate", "--model", Fixtures.model("tiny-v2").toString(), "--prompt", "Hello", "--max-tokens", "2");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("--prompt needs a tokenizer").contains("--tokenizer DIR").contains("--prompt-ids");
    }

    /** The demo tokenizer's files, copied out of core's classes (a folder or, outside the reactor, a jar). */
    private static Path tokenizerDirectory(Path tmp) throws Exception {
        for (String file : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
            try (var in = DemoModel.class.getResourceAsStream("/dev/expertmesh/demo/" + file)) {
                Files.copy(in, tmp.resolve(file));
            }
        }
        return tmp;
    }
}
