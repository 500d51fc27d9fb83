package dev.expertmesh.launcher;

import java.util.Arrays;
import java.util.stream.Collectors;

/** How commands print: for a person, or one JSON line for a program. */
final class Output {
    enum Format { text, json }

    private Output() {
    }

    /** Token ids as "0,5,9", ready for --prompt-ids. */
    static String commaSeparated(int[] ids) {
        return Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }
}
