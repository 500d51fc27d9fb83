package dev.expertmesh.launcher;

import java.util.ArrayList;
import java.util.List;

/**
 * A fault as the streams saw it.
 *
 * @param nextTokenSeconds   from the fault until every stream still running then had received a token
 * @param longestGapSeconds  the longest gap between two tokens of one stream that ended after the fault
 * @param medianGapSeconds   the median gap between tokens before the fault: the stall's yardstick
 */
record Recovery(double nextTokenSeconds, double longestGapSeconds, double medianGapSeconds) {
    static Recovery of(List<long[]> arrivals, long faultNanos) {
        long nextToken = 0;
        long longest = 0;
        List<Long> before = new ArrayList<>();
        for (long[] a : arrivals) {
            for (int i = 0; i < a.length; i++) {
                if (a[i] > faultNanos && (i == 0 || a[i - 1] <= faultNanos)) {
                    nextToken = Math.max(nextToken, a[i] - faultNanos);
                }
                if (i > 0 && a[i] > faultNanos) {
                    longest = Math.max(longest, a[i] - a[i - 1]);
                } else if (i > 0) {
                    before.add(a[i] - a[i - 1]);
                }
            }
        }
        long median = before.isEmpty() ? 0 : before.stream().sorted().toList().get(before.size() / 2);
        return new Recovery(nextToken / 1e9, longest / 1e9, median / 1e9);
    }

    String describe(String fault) {
        return "fault recovery, %s: next token on every stream %.2f s after the fault; longest inter-token gap %.2f s (median before the fault %.3f s)"
                .formatted(fault, nextTokenSeconds, longestGapSeconds, medianGapSeconds);
    }
}
