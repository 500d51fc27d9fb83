package dev.expertmesh.client;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.TlsChannelCredentials;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A channel to each coordinator address. New requests start at the next address in turn, so that
 * several clients spread over the coordinators, and fail over along the list from there.
 */
final class Coordinators implements AutoCloseable {
    /** One coordinator: its address as given and the channel to it. */
    record Coordinator(String address, ManagedChannel channel) {
    }

    private final List<Coordinator> coordinators;
    private final AtomicInteger next = new AtomicInteger();

    /** {@code trustedCa}: TLS, trusting the CA certificates of this PEM file (a cluster's own CA) instead of the JDK's. */
    Coordinators(List<String> addresses, boolean plaintext, Optional<Path> trustedCa) {
        if (addresses.isEmpty()) {
            throw new IllegalArgumentException("no coordinator address: give at least one HOST:PORT");
        }
        List<Coordinator> opened = new ArrayList<>();
        try {
            for (String address : addresses) {
                opened.add(new Coordinator(address, channel(address, plaintext, trustedCa)));
            }
        } catch (RuntimeException badAddress) {
            opened.forEach(c -> c.channel().shutdownNow());
            throw badAddress;
        }
        this.coordinators = List.copyOf(opened);
    }

    private static ManagedChannel channel(String address, boolean plaintext, Optional<Path> trustedCa) {
        int colon = address.lastIndexOf(':');
        int port = colon < 0 ? -1 : parsePort(address.substring(colon + 1));
        if (colon <= 0 || port < 1 || port > 65535) {
            throw new IllegalArgumentException("coordinator address '" + address + "': expected HOST:PORT, such as 127.0.0.1:50051");
        }
        String host = address.substring(0, colon).replaceAll("^\\[(.*)]$", "$1");
        // Pings on a quiet connection find a coordinator that froze or a host that vanished, which no
        // socket error reports; every 5 minutes is as often as gRPC servers allow by default.
        ManagedChannelBuilder<?> builder = trustedCa.isPresent() ? Grpc.newChannelBuilderForAddress(host, port, trusting(trustedCa.get()))
                : plaintext ? ManagedChannelBuilder.forAddress(host, port).usePlaintext()
                : ManagedChannelBuilder.forAddress(host, port).useTransportSecurity();
        return builder.keepAliveTime(5, TimeUnit.MINUTES).keepAliveTimeout(20, TimeUnit.SECONDS).build();
    }

    /** Checked here: gRPC would report a file without certificates as a missing channel provider. */
    private static ChannelCredentials trusting(Path ca) {
        byte[] pem;
        try {
            pem = Files.readAllBytes(ca);
        } catch (NoSuchFileException | AccessDeniedException e) {
            throw new IllegalArgumentException(ca + ": " + (e instanceof NoSuchFileException ? "no such file" : "permission denied")
                    + ": give the cluster's CA certificate (ca.pem)", e);
        } catch (IOException e) {
            throw new IllegalArgumentException(ca + ": cannot read it (" + e.getMessage() + "): give the cluster's CA certificate (ca.pem)", e);
        }
        try {
            if (CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem)).isEmpty()) {
                throw new CertificateException("no certificate");
            }
            return TlsChannelCredentials.newBuilder().trustManager(new ByteArrayInputStream(pem)).build();
        } catch (CertificateException | IOException e) {
            throw new IllegalArgumentException(ca + ": no PEM certificate in it (expected -----BEGIN CERTIFICATE-----): "
                    + "give the cluster's CA certificate (ca.pem)", e);
        }
    }

    private static int parsePort(String port) {
        try {
            return Integer.parseInt(port);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    int size() {
        return coordinators.size();
    }

    /** Where a new request starts: the coordinator after the one the previous request started at. */
    int start() {
        return Math.floorMod(next.getAndIncrement(), coordinators.size());
    }

    /** The {@code attempt}-th coordinator for a request that started at {@code start}. */
    Coordinator get(int start, int attempt) {
        return coordinators.get((start + attempt) % coordinators.size());
    }

    /** The addresses, for a message about all of them. */
    String addresses() {
        return String.join(", ", coordinators.stream().map(Coordinator::address).toList());
    }

    @Override
    public void close() {
        coordinators.forEach(c -> c.channel().shutdownNow());
        for (Coordinator c : coordinators) {
            try {
                c.channel().awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
