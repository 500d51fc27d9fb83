package dev.expertmesh.launcher;

import dev.expertmesh.client.ExpertMeshClient;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** How a command reaches a coordinator's gRPC API: plain text or TLS trusting the cluster's CA, with an API key or none. */
final class CoordinatorAccess {
    @Option(names = "--tls-ca", paramLabel = "PEM", description = "The coordinator serves TLS: trust the CA certificates of "
            + "this file (the cluster's ca.pem). Default: plain text.")
    Path tlsCa;

    @Mixin
    ApiKeyOptions apiKeys;

    /** A client builder that connects as the coordinator serves. */
    ExpertMeshClient.Builder client() {
        ExpertMeshClient.Builder builder = ExpertMeshClient.builder();
        return apiKeys.sentBy(tlsCa == null ? builder : builder.trustedCa(tlsCa));
    }
}
