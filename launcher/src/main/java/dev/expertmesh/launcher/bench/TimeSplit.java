package dev.expertmesh.launcher.bench;

/** Where measured steps spent their time, in nanoseconds over all of them; transport is 0 in one process. */
record TimeSplit(long attentionNanos, long expertNanos, long transportNanos) {
}
