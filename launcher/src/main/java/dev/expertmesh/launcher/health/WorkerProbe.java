package dev.expertmesh.launcher.health;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.expertmesh.membership.RoleName;
import dev.expertmesh.proto.Role;
import dev.expertmesh.proto.WorkerHealth;
import dev.expertmesh.transport.DataPlaneActions;
import dev.expertmesh.transport.FlightClients;
import dev.expertmesh.transport.TlsFiles;
import org.apache.arrow.flight.Action;
import org.apache.arrow.flight.CallOptions;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.Result;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;

import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** A worker's health: the Flight action "health" on its Flight port. */
public final class WorkerProbe {
    private WorkerProbe() {
    }

    /** Over mutual TLS with the node's own certificate when it has {@code tls}, as its peers reach it. */
    public static HealthCheck check(Role role, String host, int port, Optional<TlsFiles> tls, Duration timeout) throws InterruptedException {
        String where = host + ":" + port;
        Location location = tls.isPresent() ? Location.forGrpcTls(host, port) : Location.forGrpcInsecure(host, port);
        try (BufferAllocator allocator = new RootAllocator(); FlightClient client = FlightClients.open(allocator, location, tls)) {
            List<Result> results = new ArrayList<>();
            client.doAction(new Action(DataPlaneActions.HEALTH), CallOptions.timeout(timeout.toMillis(), TimeUnit.MILLISECONDS))
                    .forEachRemaining(results::add);
            if (results.isEmpty()) {
                return notAWorker(where, "no health");
            }
            return judge(role, where, WorkerHealth.parseFrom(results.getFirst().getBody()));
        } catch (FlightRuntimeException e) {
            return switch (e.status().code()) {
                case UNAVAILABLE -> refused(e)
                        ? HealthCheck.failing("nothing listens on " + where + " (is the " + RoleName.of(role) + " running, and " + port + " its Flight port?)")
                        : HealthCheck.failing(where + " is unavailable: " + e.getMessage());
                case TIMED_OUT -> HealthCheck.failing(RoleName.of(role) + " at " + where + " did not answer within " + timeout.toMillis() + " ms");
                case UNIMPLEMENTED -> notAWorker(where, "no health action");
                default -> notAWorker(where, "an error (" + e.getMessage() + ")");
            };
        } catch (InvalidProtocolBufferException e) {
            return notAWorker(where, "something other than a WorkerHealth");
        }
    }

    private static HealthCheck judge(Role role, String where, WorkerHealth health) {
        if (health.getRole() != role) {
            return HealthCheck.failing(where + " is " + article(health.getRole()) + ", not " + article(role));
        }
        String worker = RoleName.of(role) + (health.getNodeId().isEmpty() ? "" : " " + health.getNodeId()) + " at " + where;
        boolean experts = role == Role.EXPERT_WORKER;
        return switch (health.getState()) {
            case SERVING -> HealthCheck.serving("serving: " + worker + (experts ? ", shard map epoch " + health.getEpoch() : ""));
            case LOADING -> HealthCheck.failing("not serving: " + worker + (health.getNodeId().isEmpty() ? " is joining the cluster"
                    : " has loaded no shard map yet: the coordinator publishes one once it sees the worker"));
            case DRAINING -> HealthCheck.failing("not serving: " + worker + " is draining: it stops once the coordinator routes around it");
            case IDLE -> HealthCheck.failing("not serving: " + worker + " has no experts in shard map epoch " + health.getEpoch()
                    + ": the coordinator places it in its next map, unless it cannot reach it (see the coordinator's log)");
            default -> HealthCheck.failing("not serving: " + worker + " is " + health.getState());
        };
    }

    private static boolean refused(Throwable e) {
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof ConnectException) {
                return true;
            }
        }
        return false;
    }

    private static HealthCheck notAWorker(String where, String answer) {
        return HealthCheck.failing(where + " gave " + answer + " for the Flight action " + DataPlaneActions.HEALTH
                + ": is it an ExpertMesh worker's Flight port?");
    }


    private static String article(Role role) {
        return (role == Role.EXPERT_WORKER || role == Role.ATTENTION_WORKER ? "an " : "a ") + RoleName.of(role);
    }
}
