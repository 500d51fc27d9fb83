package dev.expertmesh.launcher.bench;

/** Where a timed call ran: the coordinator's thread, one micro-batch's chain on it, or a worker. */
record Track(Role role, int index) {
    static final Track MAIN = new Track(Role.MAIN, 0);

    enum Role { MAIN, MICRO_BATCH, ATTENTION_WORKER, EXPERT_WORKER }

    static Track microBatch(int index) {
        return new Track(Role.MICRO_BATCH, index);
    }

    boolean isWorker() {
        return role == Role.ATTENTION_WORKER || role == Role.EXPERT_WORKER;
    }

    String label() {
        return switch (role) {
            case MAIN -> "coordinator";
            case MICRO_BATCH -> "coordinator, micro-batch " + index;
            case ATTENTION_WORKER -> "attention-" + index;
            case EXPERT_WORKER -> "expert-" + index;
        };
    }
}
