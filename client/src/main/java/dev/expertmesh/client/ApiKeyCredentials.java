package dev.expertmesh.client;

import io.grpc.CallCredentials;
import io.grpc.Metadata;

import java.util.concurrent.Executor;

/** The coordinator's API key on every call, as the metadata {@code authorization: Bearer KEY} that OpenAI clients send too. */
final class ApiKeyCredentials extends CallCredentials {
    private static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private final Metadata headers = new Metadata();

    ApiKeyCredentials(String key) {
        if (key.isBlank() || key.strip().chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
            throw new IllegalArgumentException("an API key must be printable ASCII without spaces");
        }
        headers.put(AUTHORIZATION, "Bearer " + key.strip());
    }

    @Override
    public void applyRequestMetadata(RequestInfo requestInfo, Executor appExecutor, MetadataApplier applier) {
        Metadata copy = new Metadata();
        copy.merge(headers);
        applier.apply(copy);
    }
}
