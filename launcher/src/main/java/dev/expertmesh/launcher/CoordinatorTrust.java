package dev.expertmesh.launcher;

import dev.expertmesh.client.ExpertMeshClient;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** How a command reaches a coordinator's gRPC API: plain text, or TLS trusting the cluster's CA. */
final class CoordinatorTrust {
    @Option(names = "--tls-ca", paramLabel = "PEM", description = "The coordinator serves TLS: trust the CA certificates of "
            + "this file (the cluster's ca.pem). Default: plain text.")
    Path tlsCa;

    /** A client builder that connects as the coordinator serves. */
    ExpertMeshClient.Builder client() {
        ExpertMeshClient.Builder builder = ExpertMeshClient.builder();
        return tlsCa == null ? builder : builder.trustedCa(tlsCa);
    }
}
