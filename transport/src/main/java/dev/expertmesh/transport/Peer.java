package dev.expertmesh.transport;

import org.apache.arrow.flight.Location;

/** A worker as the coordinator reaches it: the name errors and logs give it, and its Flight address (grpc+tls when it serves TLS). */
public record Peer(String name, Location location) {

    public static Peer of(String name, String host, int port) {
        return of(name, host, port, false);
    }

    public static Peer of(String name, String host, int port, boolean tls) {
        return new Peer(name, tls ? Location.forGrpcTls(host, port) : Location.forGrpcInsecure(host, port));
    }

    @Override
    public String toString() {
        return name + " (" + location.getUri() + ")";
    }
}
