package dev.expertmesh.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.expertmesh.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The DeepSeek-V3 tokenizer against Hugging Face tokenizers' and transformers' reference outputs. */
class TokenizerTest {
    private static Tokenizer tokenizer;
    private static JsonNode golden;

    /** The directory of the DeepSeek-V3 tokenizer that ships with the demo model. */
    static Path deepseekV3Tokenizer() throws URISyntaxException {
        return Path.of(TokenizerTest.class.getResource("/dev/expertmesh/demo/" + Tokenizer.FILE).toURI()).getParent();
    }

    @BeforeAll
    static void load() throws Exception {
        tokenizer = Tokenizer.load(deepseekV3Tokenizer());
        golden = new ObjectMapper().readTree(Fixtures.testdata().resolve("tokenizers/deepseek-v3/golden.json").toFile());
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    private static int[] ids(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    @Test
    void everyGoldenCaseEncodesToTheSameIdsAndDecodesBack() {
        assertThat(golden.get("cases")).hasSize(20);
        for (JsonNode c : golden.get("cases")) {
            String text = c.get("text").asText();
            assertThat(tokenizer.encode(text)).as("ids of %s", text).containsExactly(ids(c.get("ids")));
            assertThat(tokenizer.decode(ids(c.get("ids")))).as("decoding of %s", text).isEqualTo(c.get("decoded").asText());
        }
    }

    @Test
    void chatRendersToTheSameStringAndIdsAsTransformers() {
        JsonNode chat = golden.get("chat");
        List<ChatMessage> messages = ChatMessage.parseList(chat.get("messages").toString());
        assertThat(chat.get("add_generation_prompt").asBoolean()).isTrue();
        assertThat(tokenizer.chatTemplate().orElseThrow().render(messages, true)).isEqualTo(chat.get("rendered").asText());
        assertThat(tokenizer.encodeChat(messages)).containsExactly(ids(chat.get("ids")));
    }

    @Test
    void streamingDecodesMultiByteCharactersTokenByTokenIntoExactlyTheFullText() {
        int streamedCases = 0;
        for (JsonNode c : golden.get("cases")) {
            String text = c.get("text").asText();
            if (text.chars().allMatch(ch -> ch < 128)) {
                continue;
            }
            streamedCases++;
            StreamingDetokenizer stream = new StreamingDetokenizer(tokenizer);
            List<String> pieces = new ArrayList<>();
            for (int id : ids(c.get("ids"))) {
                pieces.add(stream.add(id));
            }
            pieces.add(stream.finish());
            assertThat(pieces).as("pieces of %s", text).noneMatch(p -> p.indexOf('\uFFFD') >= 0);
            assertThat(String.join("", pieces)).isEqualTo(text);
        }
        // Chinese, Japanese, Korean, emoji, accents, Arabic, Cyrillic, zero-width space
        assertThat(streamedCases).isGreaterThanOrEqualTo(6);
    }

    @Test
    void anEmojiSplitAcrossTokensIsHeldBackUntilComplete() {
        int[] ids = tokenizer.encode("😀");
        assertThat(ids.length).as("the emoji takes several byte-level tokens").isGreaterThan(1);
        StreamingDetokenizer stream = new StreamingDetokenizer(tokenizer);
        for (int i = 0; i < ids.length - 1; i++) {
            assertThat(stream.add(ids[i])).isEmpty();
        }
        assertThat(stream.add(ids[ids.length - 1])).isEqualTo("😀");
        assertThat(stream.finish()).isEmpty();
    }

    @Test
    void tokenBytesAreTheRawBytesOfTheTokensText() {
        int[] hello = tokenizer.encode("Hello");
        assertThat(hello).hasSize(1);
        assertThat(tokenizer.tokenBytes(hello[0])).isEqualTo("Hello".getBytes(StandardCharsets.UTF_8));
        int[] spaced = tokenizer.encode(" world");
        assertThat(spaced).hasSize(1);
        assertThat(tokenizer.tokenBytes(spaced[0])).isEqualTo(" world".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void tokenBytesOfACharacterSplitOverTokensAreItsOwnUtf8Pieces() {
        byte[] utf8 = "龘".getBytes(StandardCharsets.UTF_8);
        int[] ids = tokenizer.encode("龘");
        assertThat(ids.length).as("the rare character takes several byte-level tokens").isGreaterThan(1);
        assertThat(tokenizer.decode(new int[]{ids[0]})).as("decoded alone, a piece is no character").isEqualTo("\uFFFD");
        ByteArrayOutputStream joined = new ByteArrayOutputStream();
        for (int id : ids) {
            joined.writeBytes(tokenizer.tokenBytes(id));
        }
        assertThat(joined.toByteArray()).isEqualTo(utf8);
    }

    @Test
    void tokenBytesOfASpecialTokenAreItsText() {
        String bos = "<｜begin▁of▁sentence｜>";
        int[] ids = tokenizer.encode(bos);
        assertThat(ids).hasSize(1);
        assertThat(tokenizer.tokenBytes(ids[0])).isEqualTo(bos.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aDirectoryWithoutTokenizerFilesGetsAClearError(@TempDir Path dir) {
        assertThat(Tokenizer.existsIn(dir)).isFalse();
        assertThatThrownBy(() -> Tokenizer.load(dir))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("has no tokenizer.json")
                .hasMessageContaining("--tokenizer");
    }

    @Test
    void aTokenizerWithoutChatTemplateRefusesChat(@TempDir Path dir) throws IOException, URISyntaxException {
        Files.copy(deepseekV3Tokenizer().resolve(Tokenizer.FILE), dir.resolve(Tokenizer.FILE));
        try (Tokenizer plain = Tokenizer.load(dir)) {
            assertThat(plain.encode("Hello, world!")).containsExactly(tokenizer.encode("Hello, world!"));
            assertThatThrownBy(() -> plain.encodeChat(List.of(new ChatMessage("user", "hi"))))
                    .hasMessageContaining("no chat_template");
        }
    }

    @Test
    void malformedChatJsonIsRefusedWithTheExpectedShape() {
        for (String bad : Set.of("not json", "{}", "[]", "[{\"role\": \"user\"}]", "[{\"role\": \"robot\", \"content\": \"x\"}]")) {
            assertThatThrownBy(() -> ChatMessage.parseList(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("chat");
        }
    }
}
