package dev.expertmesh.transport;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The data plane's sockets, plain or, with a node's {@link TlsFiles}, mutual TLS: a worker accepts only clients
 * with a certificate signed by its CA, and a client checks that the worker's certificate names the host it dialled,
 * as gRPC's TLS does for the Flight port.
 */
public final class DataPlaneSockets {
    private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private final Optional<SSLContext> tls;

    private DataPlaneSockets(Optional<SSLContext> tls) {
        this.tls = tls;
    }

    public static DataPlaneSockets of(Optional<TlsFiles> tls) {
        return new DataPlaneSockets(tls.map(DataPlaneSockets::context));
    }

    /** A listening socket on host:port (port 0 picks a free one). */
    ServerSocket listen(String host, int port) throws IOException {
        ServerSocket listener;
        if (tls.isPresent()) {
            SSLServerSocket secure = (SSLServerSocket) tls.get().getServerSocketFactory().createServerSocket();
            secure.setNeedClientAuth(true);
            secure.setEnabledProtocols(PROTOCOLS);
            listener = secure;
        } else {
            // A channel's sockets, so that frames can be written and read without copies (FrameChannel).
            listener = ServerSocketChannel.open().socket();
        }
        listener.bind(new InetSocketAddress(host, port));
        return listener;
    }

    /** A connected socket to {@code peer}'s data plane, its TLS handshake done; {@code timeout} bounds each. */
    Socket connect(Peer peer, Duration timeout) throws IOException {
        InetSocketAddress address = peer.dataAddress();
        int millis = Math.toIntExact(timeout.toMillis());
        Socket plain = tls.isEmpty() ? SocketChannel.open().socket() : new Socket();
        try {
            plain.connect(address, millis);
            if (tls.isEmpty()) {
                return plain;
            }
            SSLSocket socket = (SSLSocket) tls.get().getSocketFactory().createSocket(plain, address.getHostString(), address.getPort(), true);
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setProtocols(PROTOCOLS);
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
            socket.setSSLParameters(parameters);
            socket.setSoTimeout(millis);
            socket.startHandshake();
            socket.setSoTimeout(0);
            return socket;
        } catch (IOException | RuntimeException e) {
            plain.close();
            throw e;
        }
    }

    /** The node's key and certificate to present, and its CA to check the other end's against. */
    private static SSLContext context(TlsFiles files) {
        try {
            List<X509Certificate> chain = files.chain();
            KeyStore identity = KeyStore.getInstance("PKCS12");
            identity.load(null, null);
            identity.setKeyEntry("node", files.signingKey(chain), new char[0], chain.toArray(X509Certificate[]::new));
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(identity, new char[0]);

            KeyStore authorities = KeyStore.getInstance("PKCS12");
            authorities.load(null, null);
            List<X509Certificate> cas = files.authorities();
            for (int i = 0; i < cas.size(); i++) {
                authorities.setCertificateEntry("ca-" + i, cas.get(i));
            }
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(authorities);

            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), trust.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalArgumentException("TLS from " + files.certificate() + ", " + files.privateKey() + " and " + files.ca()
                    + ": " + e.getMessage(), e);
        }
    }
}
