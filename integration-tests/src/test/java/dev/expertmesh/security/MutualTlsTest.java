package dev.expertmesh.security;

import dev.expertmesh.Fixtures;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.engine.CpuDevice;
import dev.expertmesh.expertworker.ExpertWorkerServer;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.placement.HostedExperts;
import dev.expertmesh.proto.ExpertBatch;
import dev.expertmesh.proto.HiddenType;
import dev.expertmesh.transport.DataPlaneActions;
import dev.expertmesh.transport.DataPlaneSchemas;
import dev.expertmesh.transport.DataPlaneSockets;
import dev.expertmesh.transport.ExchangeStream;
import dev.expertmesh.transport.FlightClients;
import dev.expertmesh.transport.PeerFailureException;
import dev.expertmesh.transport.ReplyDeadlines;
import dev.expertmesh.transport.TlsFiles;
import dev.expertmesh.quantization.QuantizationPlan;
import org.apache.arrow.flight.Action;
import org.apache.arrow.flight.FlightClient;
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

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * An expert worker serving over mutual TLS with the certificates of `expertmesh certs`, on real sockets: its
 * Flight actions and its data plane answer a client with a certificate of the cluster's CA only.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MutualTlsTest {
    @TempDir
    static Path dir;

    private TestCertificates ours;
    private TestCertificates theirs;
    private TensorSource weights;
    private ModelConfig config;
    private ExpertWorkerServer worker;
    private final BufferAllocator allocator = new RootAllocator();

    @BeforeAll
    void startWorker() {
        ours = TestCertificates.make(dir.resolve("ours"));
        theirs = TestCertificates.make(dir.resolve("theirs"));
        Path model = Fixtures.model("tiny-v2-lite");
        weights = Checkpoint.open(model);
        config = ModelConfig.load(model);
        worker = ExpertWorkerServer.start("tls-experts", TestCertificates.HOST, 0, 0, weights, config, new CpuDevice(),
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

    /** The health action: any answer at all shows the call got through the handshake. */
    private static void askHealth(FlightClient client) {
        client.doAction(new Action(DataPlaneActions.HEALTH)).forEachRemaining(result -> { });
    }

    /** The handshake fails, and with it the call: the producer never sees it. */
    private static void assertRefused(FlightClient client) {
        assertThatThrownBy(() -> askHealth(client)).isInstanceOfSatisfying(FlightRuntimeException.class,
                e -> assertThat(e.status().code()).isEqualTo(FlightStatusCode.UNAVAILABLE));
    }

    /**
     * One batch on an expert stream, of an epoch the worker does not serve: a refusal from the worker shows the
     * stream got through the handshake; anything else is thrown on.
     */
    private PeerFailureException sendBatch(DataPlaneSockets sockets) {
        try (ReplyDeadlines deadlines = new ReplyDeadlines(Duration.ofSeconds(10));
             ExchangeStream stream = new ExchangeStream(worker.peer(TestCertificates.HOST), sockets, DataPlaneSchemas.EXPERT_STREAM,
                     DataPlaneSchemas.expertRequest(config, HiddenType.BF16), allocator, deadlines)) {
            stream.request().setRowCount(0);
            stream.exchange(ExpertBatch.newBuilder().setEpoch(99).setLayer(1).build(), "a batch");
            throw new AssertionError("the worker answered a batch of an epoch it does not serve");
        } catch (PeerFailureException e) {
            return e;
        }
    }

    @Test
    void theWorkerAdvertisesTls() {
        assertThat(worker.location().getUri().getScheme()).isEqualTo("grpc+tls");
        assertThat(worker.peer(TestCertificates.HOST).location().getUri().getScheme()).isEqualTo("grpc+tls");
    }

    @Test
    void aClientWithTheClustersCertificateIsAnswered() {
        try (FlightClient client = FlightClients.open(allocator, tlsLocation(), Optional.of(ours.tls()))) {
            askHealth(client);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        PeerFailureException refusal = sendBatch(DataPlaneSockets.of(Optional.of(ours.tls())));
        assertThat(refusal.refused()).as("the worker read the batch and answered").isTrue();
        assertThat(refusal).hasMessageContaining("epoch 99");
    }

    @Test
    void aClientWithoutACertificateIsRefused() throws Exception {
        try (FlightClient client = FlightClient.builder(allocator, tlsLocation()).useTls()
                .trustedCertificates(ours.tls().caCertificates()).build()) {
            assertRefused(client);
        }
        // TLS that trusts the worker but presents no certificate: the worker ends the connection.
        SSLContext anonymous = SSLContext.getInstance("TLS");
        anonymous.init(null, trusting(ours.tls()), null);
        try (SSLSocket socket = (SSLSocket) anonymous.getSocketFactory().createSocket(TestCertificates.HOST, worker.dataPort())) {
            assertThatThrownBy(() -> {
                socket.getOutputStream().write(new byte[8]);
                socket.getOutputStream().flush();
                if (socket.getInputStream().read() == -1) {
                    throw new IOException("closed");
                }
            }).isInstanceOf(IOException.class);
        }
    }

    @Test
    void aClientWithACertificateOfAnotherCaIsRefused() throws Exception {
        TlsFiles other = theirs.tls();
        try (FlightClient client = FlightClient.builder(allocator, tlsLocation()).useTls()
                .trustedCertificates(ours.tls().caCertificates()).clientCertificate(other.certificateChain(), other.keyPkcs8()).build()) {
            assertRefused(client);
        }
        assertThat(sendBatch(DataPlaneSockets.of(Optional.of(other))).refused()).as("no TLS session, so no answer").isFalse();
    }

    @Test
    void aPlainTextClientIsRefused() throws Exception {
        try (FlightClient client = FlightClient.builder(allocator, Location.forGrpcInsecure(TestCertificates.HOST, worker.port())).build()) {
            assertRefused(client);
        }
        assertThat(sendBatch(DataPlaneSockets.of(Optional.empty())).refused()).as("no TLS session, so no answer").isFalse();
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

    private static TrustManager[] trusting(TlsFiles tls) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setCertificateEntry("ca", tls.authorities().getFirst());
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(store);
        return trust.getTrustManagers();
    }
}
