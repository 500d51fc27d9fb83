package dev.expertmesh.placement;

import java.util.Arrays;
import java.util.List;

/** Expert workers for placement tests: one machine, equal memory. */
public final class Workers {
    public static final long MEMORY = 1L << 30;

    private Workers() {
    }

    public static List<ExpertWorker> named(String... ids) {
        return Arrays.stream(ids).map(id -> new ExpertWorker(id, "host", MEMORY)).toList();
    }
}
