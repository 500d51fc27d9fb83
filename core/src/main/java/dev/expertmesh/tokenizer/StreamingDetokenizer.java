package dev.expertmesh.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns tokens into text as they arrive. Byte-level BPE splits a character's UTF-8 bytes across
 * tokens, so text is released only once it no longer ends in an incomplete character (U+FFFD):
 * a stream never shows a replacement character, and its pieces concatenate to the full decoding.
 */
public final class StreamingDetokenizer {
    private static final char INCOMPLETE = '\uFFFD';

    private final Tokenizer tokenizer;
    private final List<Integer> ids = new ArrayList<>();
    /** ids[prefixStart, emittedEnd) are decoded already; they give the next piece its context. */
    private int prefixStart;
    private int emittedEnd;

    public StreamingDetokenizer(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** The text that {@code tokenId} completes: empty while a character is still incomplete. */
    public String add(int tokenId) {
        ids.add(tokenId);
        String prefix = decode(prefixStart, emittedEnd);
        String extended = decode(prefixStart, ids.size());
        if (extended.length() <= prefix.length() || extended.charAt(extended.length() - 1) == INCOMPLETE) {
            return "";
        }
        prefixStart = emittedEnd;
        emittedEnd = ids.size();
        return extended.substring(prefix.length());
    }

    /** Whatever text is still held back, at the end of the stream. */
    public String finish() {
        String rest = decode(prefixStart, ids.size()).substring(decode(prefixStart, emittedEnd).length());
        prefixStart = emittedEnd = ids.size();
        return rest;
    }

    private String decode(int from, int to) {
        return tokenizer.decode(ids.subList(from, to).stream().mapToInt(Integer::intValue).toArray());
    }
}
