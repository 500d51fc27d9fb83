package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import dev.expertmesh.membership.ClusterSecret;
import dev.expertmesh.transport.TlsFiles;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Optional;

/** A node's TLS files and cluster secret, as flags (for the roles also as keys of their config file). */
final class SecurityOptions {
    @Option(names = "--tls-cert", paramLabel = "PEM", description = "This node's certificate (chain), signed by --tls-ca. With "
            + "--tls-key and --tls-ca: Flight servers and clients use mutual TLS, the coordinator's gRPC API serves TLS. Default: plain text.")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "PEM", description = "The private key of --tls-cert, PKCS#8, unencrypted.")
    Path tlsKey;

    @Option(names = "--tls-ca", paramLabel = "PEM", description = "The cluster's CA certificate: peers must present a certificate it signed.")
    Path tlsCa;

    @Option(names = "--cluster-secret-file", paramLabel = "FILE", description = "A secret every node of the cluster shares: node "
            + "descriptors and shard maps are signed with it, and those not signed with it are ignored. Default: none (all accepted).")
    Path clusterSecretFile;

    /** Flags first, then the config file's keys of the same names. */
    Optional<TlsFiles> tls(JsonNode file) {
        return TlsFiles.of(ClusterOptions.path(tlsCert, file, TlsFiles.CERT_KEY), ClusterOptions.path(tlsKey, file, TlsFiles.KEY_KEY),
                ClusterOptions.path(tlsCa, file, TlsFiles.CA_KEY));
    }

    ClusterSecret secret(JsonNode file) {
        Path secretFile = ClusterOptions.path(clusterSecretFile, file, "cluster-secret-file");
        return secretFile == null ? ClusterSecret.NONE : ClusterSecret.read(secretFile);
    }
}
