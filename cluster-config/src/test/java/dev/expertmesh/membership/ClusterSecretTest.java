package dev.expertmesh.membership;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClusterSecretTest {
    private static final byte[] BODY = "a node descriptor".getBytes(StandardCharsets.UTF_8);
    private static final ClusterSecret OURS = ClusterSecret.of("test", "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8));
    private static final ClusterSecret THEIRS = ClusterSecret.of("test", "fedcba9876543210fedcba9876543210".getBytes(StandardCharsets.UTF_8));

    @Test
    void onlyTheSameSecretUnderTheSameKeyVerifies() {
        byte[] signed = OURS.sign("node-1", BODY);

        assertThat(OURS.verify("node-1", signed)).hasValue(BODY);
        assertThat(THEIRS.verify("node-1", signed)).as("another cluster's secret").isEmpty();
        assertThat(OURS.verify("node-2", signed)).as("replayed under another node's id").isEmpty();
        assertThat(OURS.verify("node-1", ClusterSecret.NONE.sign("node-1", BODY))).as("unsigned").isEmpty();
        assertThat(OURS.verify("node-1", new byte[]{1, 2, 3})).as("not a signed entry").isEmpty();
    }

    @Test
    void withoutASecretEverySignedEntryIsAccepted() {
        assertThat(ClusterSecret.NONE.verify("node-1", OURS.sign("node-1", BODY))).hasValue(BODY);
        assertThat(ClusterSecret.NONE.verify("node-1", ClusterSecret.NONE.sign("node-1", BODY))).hasValue(BODY);
    }

    @Test
    void aSecretFileIsItsTextWithoutTheNewline(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("cluster-secret"), "0123456789abcdef0123456789abcdef\n");

        assertThat(ClusterSecret.read(file).verify("k", OURS.sign("k", BODY))).hasValue(BODY);
    }

    @Test
    void aMissingOrShortSecretIsRefusedNamingTheFile(@TempDir Path dir) throws IOException {
        assertThatThrownBy(() -> ClusterSecret.read(dir.resolve("missing")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(dir.resolve("missing") + ": cannot read the cluster secret (no such file)")
                .hasMessageContaining("expertmesh certs");
        Path shortSecret = Files.writeString(dir.resolve("short"), "password\n");
        assertThatThrownBy(() -> ClusterSecret.read(shortSecret))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(shortSecret + ": the cluster secret has 8 bytes, at least 16 are needed: make one with `openssl rand -base64 32`");
    }
}
