package dev.expertmesh.coordinator.serving;

/**
 * Whether the cluster can run a step now: what /health, the gRPC health service and a request
 * refused for an unready cluster all report.
 *
 * @param serving a step can run
 * @param detail  what the cluster serves with when serving; else what it lacks
 */
public record Readiness(boolean serving, String detail) {

    public static Readiness ready(String servesWith) {
        return new Readiness(true, servesWith);
    }

    public static Readiness notReady(String lacking) {
        return new Readiness(false, lacking);
    }

    /** The error of a request the cluster cannot serve yet. */
    public String refusal() {
        return "the cluster is not ready: " + detail;
    }
}
