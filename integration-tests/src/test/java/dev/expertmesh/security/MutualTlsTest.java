package dev.expertmesh.security;

import dev.expertmesh.Fixtures;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.engine.CpuDevice;
import dev.expertmesh.expertworker.ExpertWorkerServer;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.placement.HostedExperts;
import dev.expertmesh.proto.ExpertExchange;
import dev.expertmesh.transport.FlightClients;
import dev.expertmesh.transport.TlsFiles;
import dev.expertmesh.quantization.QuantizationPlan;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.Location;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * An expert worker serving Flight over mutual TLS with the certificates of `expertmesh certs`, on a
 * real socket: a DoExchange stream opens for a client with a certificate of the cluster's CA only.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MutualTlsTest {
    @TempDir
    static Path dir;

    private TestCertificates ours;
    private TestCertificates theirs;
    private TensorSource weights;
    private ExpertWorkerServer worker;
    private final BufferAllocator allocator = new RootAllocator();

    @BeforeAll
    void startWorker() {
        ours = TestCertificates.make(dir.resolve("ours"));
        theirs = TestCertificates.make(dir.resolve("theirs"));
        Path model = Fixtures.model("tiny-v2-lite");
        weights = Checkpoint.open(model);
        worker = ExpertWorkerServer.start("tls-experts", TestCertificates.HOST, 0, weights, ModelConfig.load(model), new CpuDevice(),
                QuantizationPlan.NONE, new HostedExperts(Map.of()), 1, Optional.of(ours.tls()));
    }

    @AfterAll
    void stopWorker() throws Exception {
        if (worker != null) {
            worker.close();
        }
        if (weights != null) {
            weights.close();
        }
        allocator.close();
    }

    private Location tlsLocation() {
        return Location.forGrpcTls(TestCertificates.HOST, worker.port());
    }

    /** Opens an exchange, sends nothing and ends it: the worker answers such a stream with an empty one. */
    private static void exchangeNothing(FlightClient client) throws Exception {
        try (FlightClient.ExchangeReaderWriter exchange = client.doExchange(
                FlightDescriptor.command(ExpertExchange.getDefaultInstance().toByteArray()))) {
            exchange.getWriter().completed();
            assertThat(exchange.getReader().next()).as("batches answered").isFalse();
        }
    }

    /** The handshake fails, and with it the stream: the producer never sees it. */
    private static void assertRefused(FlightClient client) {
        assertThatThrownBy(() -> exchangeNothing(client)).isInstanceOfSatisfying(FlightRuntimeException.class,
                e -> assertThat(e.status().code()).isEqualTo(FlightStatusCode.UNAVAILABLE));
    }

    @Test
    void theWorkerAdvertisesTls() {
        assertThat(worker.location().getUri().getScheme()).isEqualTo("grpc+tls");
    }

    @Test
    void aClientWithTheClustersCertificateOpensAnExchange() throws Exception {
        try (FlightClient client = FlightClients.open(allocator, tlsLocation(), Optional.of(ours.tls()))) {
            exchangeNothing(client);
        }
    }

    @Test
    void aClientWithoutACertificateCannotOpenAnExchange() throws Exception {
        try (FlightClient client = FlightClient.builder(allocator, tlsLocation()).useTls()
                .trustedCertificates(ours.tls().caCertificates()).build()) {
            assertRefused(client);
        }
    }

    @Test
    void aClientWithACertificateOfAnotherCaCannotOpenAnExchange() throws Exception {
        TlsFiles other = theirs.tls();
        try (FlightClient client = FlightClient.builder(allocator, tlsLocation()).useTls()
                .trustedCertificates(ours.tls().caCertificates()).clientCertificate(other.certificateChain(), other.keyPkcs8()).build()) {
            assertRefused(client);
        }
    }

    @Test
    void aPlainTextClientCannotOpenAnExchange() throws Exception {
        try (FlightClient client = FlightClient.builder(allocator, Location.forGrpcInsecure(TestCertificates.HOST, worker.port())).build()) {
            assertRefused(client);
        }
    }

    @Test
    void aNodeNeverMixesTlsAndPlainText() {
        assertThatThrownBy(() -> FlightClients.open(allocator, tlsLocation(), Optional.empty()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("serves TLS: give this node tls-cert, tls-key and tls-ca");
        assertThatThrownBy(() -> FlightClients.open(allocator, Location.forGrpcInsecure(TestCertificates.HOST, worker.port()), Optional.of(ours.tls())))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("serves plain text, and this node uses TLS");
    }
}
