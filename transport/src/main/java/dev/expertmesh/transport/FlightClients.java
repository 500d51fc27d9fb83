package dev.expertmesh.transport;

import io.grpc.netty.NettyChannelBuilder;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightGrpcUtils;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.LocationSchemes;
import org.apache.arrow.flight.grpc.NettyClientBuilder;
import org.apache.arrow.memory.BufferAllocator;

import java.util.Optional;

/**
 * Flight clients to the cluster's workers: over mutual TLS, with this node's certificate, when the worker serves TLS.
 * Replies are handed to the waiting caller straight from the Netty event loop that read them (gRPC would otherwise
 * pass each one through its own executor thread first), and the connection is tuned for batches of hidden rows
 * ({@link NettyTuning}).
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
        NettyClientBuilder flight = new NettyClientBuilder(allocator, location);
        tls.ifPresent(files -> flight.useTls().trustedCertificates(files.caCertificates())
                .clientCertificate(files.certificateChain(), files.keyPkcs8()));
        // Flight's callbacks only queue a reply for the reader, so they may run on the event loop.
        NettyChannelBuilder channel = NettyTuning.client(flight.build().directExecutor());
        return FlightGrpcUtils.createFlightClient(allocator, channel.build());
    }
}
