package dev.expertmesh.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.Fixtures;
import dev.expertmesh.model.ModelConfig;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The tokenizer made for the tiny fixture models (testdata/tools/make_tiny_tokenizer.py) fits their vocabulary. */
class TinyTokenizerTest {

    @Test
    void everyIdFitsTheTinyModelsAndTextComesBackAsItWent() throws Exception {
        JsonNode golden = new ObjectMapper().readTree(Fixtures.testdata().resolve("tokenizers/deepseek-v3/golden.json").toFile());
        try (Tokenizer tiny = Tokenizer.load(Fixtures.testdata().resolve("tokenizers/tiny"))) {
            for (String model : Fixtures.MODELS) {
                ModelConfig config = ModelConfig.load(Fixtures.model(model));
                assertThat(tiny.encode("<｜begin▁of▁sentence｜>")).containsExactly(config.bosTokenId());
                assertThat(config.eosTokenIds()).contains(tiny.encode("<｜end▁of▁sentence｜>")[0]);
                for (JsonNode c : golden.get("cases")) {
                    String text = c.get("text").asText();
                    int[] ids = tiny.encode(text);
                    assertThat(java.util.Arrays.stream(ids).max().orElse(0)).as("largest id of %s", text).isLessThan(config.vocabSize());
                    assertThat(tiny.decode(ids)).isEqualTo(text);
                }
            }
            String rendered = tiny.chatTemplate().orElseThrow().render(List.of(new ChatMessage("user", "Hi")), true);
            assertThat(rendered).isEqualTo("<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜>");
            assertThat(tiny.encodeChat(List.of(new ChatMessage("user", "Hi")))).startsWith(0);
        }
    }
}
