package dev.expertmesh.coordinator.serving;

import java.util.List;

/**
 * Finds stop strings in streamed text. Text that could still turn into a stop string is held back
 * until it cannot, so no client ever sees part of one.
 */
final class StopStrings {
    private final List<String> stops;
    private final StringBuilder held = new StringBuilder();
    private String matched;

    StopStrings(List<String> stops) {
        this.stops = stops;
    }

    /** The text safe to release after {@code text} arrives; once a stop string matched, what precedes it, and nothing ever after. */
    String add(String text) {
        if (matched != null) {
            return "";
        }
        held.append(text);
        int earliest = -1;
        for (String stop : stops) {
            int at = held.indexOf(stop);
            if (at >= 0 && (earliest < 0 || at < earliest)) {
                earliest = at;
                matched = stop;
            }
        }
        if (earliest >= 0) {
            return take(earliest);
        }
        return take(held.length() - longestStopPrefixAtEnd());
    }

    /** What is still held back, at the end of the stream. */
    String flush() {
        return matched != null ? "" : take(held.length());
    }

    /** The stop string found, or null. */
    String matched() {
        return matched;
    }

    private int longestStopPrefixAtEnd() {
        String text = held.toString();
        int longest = 0;
        for (String stop : stops) {
            for (int n = Math.min(stop.length() - 1, text.length()); n > longest; n--) {
                if (text.regionMatches(text.length() - n, stop, 0, n)) {
                    longest = n;
                    break;
                }
            }
        }
        return longest;
    }

    private String take(int length) {
        String out = held.substring(0, length);
        held.delete(0, length);
        return out;
    }
}
