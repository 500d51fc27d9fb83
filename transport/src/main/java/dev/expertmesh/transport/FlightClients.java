package dev.expertmesh.transport;

import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.LocationSchemes;
import org.apache.arrow.memory.BufferAllocator;

import java.util.Optional;

/**
 * Flight clients to the cluster's workers, for their actions: over mutual TLS, with this node's certificate, when the
 * worker serves TLS.
 */
public final class FlightClients {
    private FlightClients() {
    }

    /**
     * A client to {@code location}; a grpc+tls one needs {@code tls}, whose CA the server's certificate must
     * be signed by. A node with TLS never talks to a worker in plain text: its traffic would be readable and
     * the worker unauthenticated.
     */
    public static FlightClient open(BufferAllocator allocator, Location location, Optional<TlsFiles> tls) {
        boolean serverTls = LocationSchemes.GRPC_TLS.equals(location.getUri().getScheme());
        if (serverTls && tls.isEmpty()) {
            throw new IllegalStateException(location.getUri() + " serves TLS: give this node " + TlsFiles.CERT_KEY + ", "
                    + TlsFiles.KEY_KEY + " and " + TlsFiles.CA_KEY + " of the cluster's CA");
        }
        if (!serverTls && tls.isPresent()) {
            throw new IllegalStateException(location.getUri() + " serves plain text, and this node uses TLS: give that worker "
                    + TlsFiles.CERT_KEY + ", " + TlsFiles.KEY_KEY + " and " + TlsFiles.CA_KEY + " too");
        }
        FlightClient.Builder flight = FlightClient.builder(allocator, location);
        tls.ifPresent(files -> flight.useTls().trustedCertificates(files.caCertificates())
                .clientCertificate(files.certificateChain(), files.keyPkcs8()));
        return flight.build();
    }
}
