package dev.expertmesh.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The raw bytes of each token of a tokenizer.json. Decoding a token alone gives U+FFFD for a piece of
 * a multi-byte character, so its bytes come from the vocabulary instead: a byte-level BPE token's
 * characters stand for bytes through GPT-2's byte-to-unicode table, a byte-fallback token
 * {@code <0xNN>} is the byte NN, and an added (special) token is its text.
 */
final class TokenBytes {
    private static final Pattern BYTE_FALLBACK = Pattern.compile("<0x([0-9A-Fa-f]{2})>");
    /** GPT-2's bytes_to_unicode, inverted: the character that stands for each byte, back to the byte. */
    private static final Map<Character, Byte> BYTE_LEVEL = byteLevelAlphabet();

    private final Map<Integer, String> vocabulary = new HashMap<>();
    private final Map<Integer, String> added = new HashMap<>();
    private final boolean byteLevel;
    private final boolean byteFallback;

    /** The vocabulary of tokenizer.json's tree. */
    TokenBytes(JsonNode tokenizerJson) {
        tokenizerJson.path("model").path("vocab").properties().forEach(e -> vocabulary.put(e.getValue().asInt(), e.getKey()));
        tokenizerJson.path("added_tokens").forEach(t -> added.put(t.path("id").asInt(), t.path("content").asText()));
        this.byteLevel = hasByteLevelDecoder(tokenizerJson.path("decoder"));
        this.byteFallback = tokenizerJson.path("model").path("byte_fallback").asBoolean(false);
    }

    /**
     * The token's bytes; empty where the vocabulary does not say them (an unknown id, a token of a
     * tokenizer neither byte-level nor byte-fallback), and its decoded text is what there is.
     */
    Optional<byte[]> of(int tokenId) {
        String addedText = added.get(tokenId);
        if (addedText != null) {
            return Optional.of(addedText.getBytes(StandardCharsets.UTF_8));
        }
        String token = vocabulary.get(tokenId);
        if (token == null) {
            return Optional.empty();
        }
        Matcher fallback = BYTE_FALLBACK.matcher(token);
        if (byteFallback && fallback.matches()) {
            return Optional.of(new byte[]{(byte) Integer.parseInt(fallback.group(1), 16)});
        }
        return byteLevel ? byteLevelBytes(token) : Optional.empty();
    }

    private static Optional<byte[]> byteLevelBytes(String token) {
        byte[] out = new byte[token.length()];
        for (int i = 0; i < token.length(); i++) {
            Byte b = BYTE_LEVEL.get(token.charAt(i));
            if (b == null) {
                return Optional.empty();
            }
            out[i] = b;
        }
        return Optional.of(out);
    }

    private static boolean hasByteLevelDecoder(JsonNode decoder) {
        if ("ByteLevel".equals(decoder.path("type").asText())) {
            return true;
        }
        for (JsonNode inner : decoder.path("decoders")) {
            if (hasByteLevelDecoder(inner)) {
                return true;
            }
        }
        return false;
    }

    /** Printable bytes stand for themselves; the others, in order, for the characters from U+0100 on. */
    private static Map<Character, Byte> byteLevelAlphabet() {
        Map<Character, Byte> alphabet = new HashMap<>();
        int shifted = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            alphabet.put((char) (printable ? b : 256 + shifted++), (byte) b);
        }
        return Map.copyOf(alphabet);
    }
}
