package dev.expertmesh.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A Hugging Face tokenizer.json (byte-level BPE for DeepSeek) through the Rust tokenizers library,
 * with the special tokens and chat template of tokenizer_config.json. Encoding adds no special
 * tokens: prompts and chat templates carry their own bos.
 */
public final class Tokenizer implements AutoCloseable {
    public static final String FILE = "tokenizer.json";
    public static final String CONFIG_FILE = "tokenizer_config.json";
    /** Without these, DJL truncates to 512 tokens and pads. */
    private static final Map<String, String> OPTIONS = Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false");

    private final HuggingFaceTokenizer tokenizer;
    /** tokenizer.json, kept to read the tokens' bytes from if they are ever asked for (chat logprobs only). */
    private final byte[] tokenizerJson;
    private final ChatTemplate chatTemplate;
    private TokenBytes tokenBytes;

    private Tokenizer(HuggingFaceTokenizer tokenizer, byte[] tokenizerJson, ChatTemplate chatTemplate) {
        this.tokenizer = tokenizer;
        this.tokenizerJson = tokenizerJson;
        this.chatTemplate = chatTemplate;
    }

    public static boolean existsIn(Path directory) {
        return Files.isRegularFile(directory.resolve(FILE));
    }

    /** The tokenizer of a model directory (tokenizer.json, and tokenizer_config.json if present). */
    public static Tokenizer load(Path directory) {
        Path file = directory.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(directory + " has no " + FILE
                    + ": use --prompt-ids, or --tokenizer DIR to take the tokenizer from another directory");
        }
        Path config = directory.resolve(CONFIG_FILE);
        JsonNode tokenizerConfig = null;
        if (Files.isRegularFile(config)) {
            try {
                tokenizerConfig = new ObjectMapper().readTree(config.toFile());
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException(config + ": not valid JSON: " + e.getOriginalMessage(), e);
            } catch (IOException e) {
                throw new IllegalArgumentException(config + ": cannot read: " + e.getMessage(), e);
            }
        }
        try (InputStream json = Files.newInputStream(file)) {
            return create(json, tokenizerConfig);
        } catch (IOException | RuntimeException e) {
            // The Rust library reports a malformed tokenizer.json as a RuntimeException.
            throw new IllegalArgumentException(file + ": not a tokenizer the Hugging Face tokenizers library reads: " + e.getMessage(), e);
        }
    }

    /** A tokenizer from tokenizer.json's bytes and tokenizer_config.json's tree (null when there is none). */
    public static Tokenizer create(InputStream tokenizerJson, JsonNode tokenizerConfig) throws IOException {
        byte[] json = tokenizerJson.readAllBytes();
        HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), OPTIONS);
        ChatTemplate template = null;
        if (tokenizerConfig != null && tokenizerConfig.path("chat_template").isTextual()) {
            template = new ChatTemplate(tokenizerConfig.get("chat_template").asText(),
                    specialToken(tokenizerConfig, "bos_token"), specialToken(tokenizerConfig, "eos_token"));
        }
        return new Tokenizer(tokenizer, json, template);
    }

    /** A special token's text: tokenizer_config.json gives it as a string or as an AddedToken object. */
    private static String specialToken(JsonNode config, String field) {
        JsonNode token = config.path(field);
        return token.isTextual() ? token.asText() : token.path("content").asText("");
    }

    public int[] encode(String text) {
        return Arrays.stream(tokenizer.encode(text).getIds()).mapToInt(Math::toIntExact).toArray();
    }

    /** The text of the ids, special tokens included. */
    public String decode(int[] ids) {
        return tokenizer.decode(Arrays.stream(ids).asLongStream().toArray(), false);
    }

    /**
     * The token's raw bytes: a piece of a multi-byte character is its own bytes, where decoding it
     * alone gives U+FFFD. The UTF-8 of its decoded text for a tokenizer whose vocabulary does not say them.
     */
    public byte[] tokenBytes(int tokenId) {
        return vocabularyBytes().of(tokenId).orElseGet(() -> decode(new int[]{tokenId}).getBytes(StandardCharsets.UTF_8));
    }

    private synchronized TokenBytes vocabularyBytes() {
        if (tokenBytes == null) {
            try {
                tokenBytes = new TokenBytes(new ObjectMapper().readTree(tokenizerJson));
            } catch (IOException e) {
                throw new UncheckedIOException("tokenizer.json, read once already, no longer parses", e);
            }
        }
        return tokenBytes;
    }

    public Optional<ChatTemplate> chatTemplate() {
        return Optional.ofNullable(chatTemplate);
    }

    /** The ids of a conversation rendered by the chat template, ready for the assistant's reply. */
    public int[] encodeChat(List<ChatMessage> messages) {
        ChatTemplate template = chatTemplate().orElseThrow(() -> new IllegalArgumentException(
                "this tokenizer has no chat_template in " + CONFIG_FILE + "; use --prompt instead of --chat"));
        return encode(template.render(messages, true));
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
