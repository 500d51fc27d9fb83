package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import dev.expertmesh.client.ExpertMeshClient;
import dev.expertmesh.coordinator.access.ApiKeys;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** --api-key-file: the keys a coordinator requires on its public APIs, and the key a client of them sends. */
final class ApiKeyOptions {
    static final String KEY = "api-key-file";

    @Option(names = "--api-key-file", paramLabel = "FILE", description = "API keys, one a line (blank lines and # comments "
            + "are skipped). A coordinator requires one of them, as 'Authorization: Bearer KEY', on every /v1 HTTP request and "
            + "Inference gRPC call; a client sends the first. Default: none (the APIs are open).")
    Path file;

    /** The keys of the flag's file, else of the config file's api-key-file; none: the APIs are open. */
    Optional<ApiKeys> required(JsonNode config) {
        return Optional.ofNullable(ClusterOptions.path(file, config, KEY)).map(path -> ApiKeys.of(keys(path)));
    }

    /** {@code builder}, sending the file's first key when a file is given. */
    ExpertMeshClient.Builder sentBy(ExpertMeshClient.Builder builder) {
        return file == null ? builder : builder.apiKey(keys(file).getFirst());
    }

    private static List<String> keys(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + ": no such API key file (--api-key-file, or api-key-file in --config)");
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read the API keys: " + e.getMessage());
        }
        List<String> keys = lines.stream().map(String::strip).filter(line -> !line.isEmpty() && !line.startsWith("#")).toList();
        if (keys.isEmpty()) {
            throw new IllegalArgumentException(file + ": no API key in it: write one key a line (blank lines and # comments are "
                    + "skipped), or give no api-key-file to keep the APIs open");
        }
        return keys;
    }
}
