package dev.expertmesh.transport;

import org.apache.arrow.flight.Location;

import java.net.InetSocketAddress;

/**
 * A worker as the coordinator reaches it: the name errors and logs give it, its Flight address for actions
 * (grpc+tls when it serves TLS) and the port of its data plane, on the same host.
 */
public record Peer(String name, Location location, int dataPort) {

    public static Peer of(String name, String host, int port, int dataPort) {
        return of(name, host, port, dataPort, false);
    }

    public static Peer of(String name, String host, int port, int dataPort, boolean tls) {
        return new Peer(name, tls ? Location.forGrpcTls(host, port) : Location.forGrpcInsecure(host, port), dataPort);
    }

    public InetSocketAddress dataAddress() {
        return new InetSocketAddress(location.getUri().getHost(), dataPort);
    }

    @Override
    public String toString() {
        return name + " (" + location.getUri() + ", data plane port " + dataPort + ")";
    }
}
