package dev.expertmesh.launcher.health;

/** What a probe found: whether the node can serve, and the one line that says so or why not. */
public record HealthCheck(boolean healthy, String line) {

    static HealthCheck serving(String line) {
        return new HealthCheck(true, line);
    }

    static HealthCheck failing(String reason) {
        return new HealthCheck(false, reason);
    }
}
