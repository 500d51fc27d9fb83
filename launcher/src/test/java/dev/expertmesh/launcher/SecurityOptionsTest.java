package dev.expertmesh.launcher;

import dev.expertmesh.Fixtures;
import dev.expertmesh.membership.ClusterSecret;
import dev.expertmesh.transport.TlsFiles;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** `expertmesh certs` and the TLS and cluster-secret settings of the roles, as flags and YAML keys. */
class SecurityOptionsTest {
    @TempDir
    static Path dir;
    private static Path certs;
    private static Path otherCerts;

    @BeforeAll
    static void makeCertificates() {
        certs = dir.resolve("certs");
        otherCerts = dir.resolve("other");
        Commands.Run run = Commands.run("certs", "--out", certs.toString(), "--hosts", "node1,10.0.0.5", "--days", "2");
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(Commands.run("certs", "--out", otherCerts.toString(), "--hosts", "node1").exitCode()).isZero();
    }

    private static ClusterOptions parse(String... args) {
        ExpertWorkerCommand command = new ExpertWorkerCommand();
        new CommandLine(command).parseArgs(args);
        return command.cluster;
    }

    private static String[] tlsFlags(Path dir, String host) {
        return new String[]{"--tls-cert", dir.resolve("node-" + host + ".pem").toString(), "--tls-key",
                dir.resolve("node-" + host + "-key.pem").toString(), "--tls-ca", dir.resolve("ca.pem").toString()};
    }

    @Test
    void certsWritesACaANodeCertificatePerHostAndASecretOnlyTheOwnerReads() throws Exception {
        assertThat(Files.list(certs).map(p -> p.getFileName().toString()).sorted().toList()).containsExactly(
                "ca-key.pem", "ca.pem", "cluster-secret", "node-10.0.0.5-key.pem", "node-10.0.0.5.pem", "node-node1-key.pem", "node-node1.pem");
        for (String secret : List.of("ca-key.pem", "cluster-secret", "node-node1-key.pem", "node-10.0.0.5-key.pem")) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(certs.resolve(secret)))).as(secret).isEqualTo("rw-------");
        }
        assertThat(Base64.getDecoder().decode(Files.readString(certs.resolve("cluster-secret")).strip())).hasSize(32);
        assertThat(Files.readString(certs.resolve("node-node1-key.pem"))).startsWith("-----BEGIN PRIVATE KEY-----");

        X509Certificate ca = certificate(certs.resolve("ca.pem"));
        X509Certificate node = certificate(certs.resolve("node-10.0.0.5.pem"));
        node.verify(ca.getPublicKey());
        assertThat(node.getPublicKey().getAlgorithm()).isEqualTo("EC");
        assertThat(node.getExtendedKeyUsage()).containsExactlyInAnyOrder("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
        // 7: an IP address, 2: a DNS name.
        assertThat(node.getSubjectAlternativeNames()).containsExactlyInAnyOrder(List.of(7, "10.0.0.5"), List.of(2, "localhost"), List.of(7, "127.0.0.1"));
        assertThat(certificate(certs.resolve("node-node1.pem")).getSubjectAlternativeNames()).contains(List.of(2, "node1"));
        assertThat(ca.getBasicConstraints()).as("a CA").isGreaterThanOrEqualTo(0);
        assertThat(node.getBasicConstraints()).as("not a CA").isEqualTo(-1);
    }

    private static X509Certificate certificate(Path pem) throws Exception {
        return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(Files.readAllBytes(pem)));
    }

    @Test
    void certsNeverOverwritesAFile() {
        Commands.Run again = Commands.run("certs", "--out", certs.toString(), "--hosts", "node2");
        assertThat(again.exitCode()).isEqualTo(2);
        assertThat(again.err().strip()).isEqualTo("error: " + certs.resolve("ca.pem")
                + " exists already: choose another --out directory, or remove the old files first");
    }

    @Test
    void theFilesOfCertsAreTheRolesTlsAndSecretAsFlagsOrYamlKeys() throws IOException {
        Optional<TlsFiles> flags = parse(tlsFlags(certs, "node1")).tls();
        assertThat(flags).hasValueSatisfying(tls -> assertThat(tls.certificate()).isEqualTo(certs.resolve("node-node1.pem")));
        assertThat(parse().tls()).as("plain text without them").isEmpty();
        assertThat(parse().node(0).member().secret()).isSameAs(ClusterSecret.NONE);

        Path yaml = Files.writeString(dir.resolve("node.yaml"), """
                tls-cert: %s/node-10.0.0.5.pem
                tls-key: %s/node-10.0.0.5-key.pem
                tls-ca: %s/ca.pem
                cluster-secret-file: %s/cluster-secret
                """.formatted(certs, certs, certs, certs));
        ClusterOptions fromFile = parse("--config", yaml.toString());
        assertThat(fromFile.tls()).hasValueSatisfying(tls -> assertThat(tls.privateKey()).isEqualTo(certs.resolve("node-10.0.0.5-key.pem")));
        assertThat(fromFile.transport().tls()).as("the coordinator's clients and API").isPresent();
        assertThat(fromFile.node(0).member().secret().isSet()).isTrue();
    }

    @Test
    void aLocalClusterWithTlsAndTheSecretGeneratesTheGreedyTokensOfTransformers() throws Exception {
        try (var golden = Fixtures.golden("tiny-v2-lite")) {
            int[] expected = golden.ints("p1.greedy_tokens");
            List<String> args = new ArrayList<>(List.of("local", "--model", Fixtures.model("tiny-v2-lite").toString(), "--transport", "fp32",
                    "--http-port", "0", "--cluster-secret-file", certs.resolve("cluster-secret").toString(),
                    "--prompt-ids", Output.commaSeparated(golden.ints("p1.input_ids")), "--max-tokens", String.valueOf(expected.length),
                    "--format", "json"));
            // node1's certificate is for loopback too.
            args.addAll(List.of(tlsFlags(certs, "node1")));
            Commands.Run run = Commands.run(args.toArray(String[]::new));
            assertThat(run.exitCode()).as(run.err()).isZero();
            assertThat(ClusterCommandsTest.tokenIds(run.out())).containsExactly(expected);
        }
    }

    @Test
    void tlsNeedsAllThreeFiles() {
        assertThatThrownBy(() -> parse("--tls-cert", certs.resolve("node-node1.pem").toString()).tls())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("TLS needs tls-cert, tls-key and tls-ca together: tls-key and tls-ca missing (`expertmesh certs` makes all three)");
    }

    @Test
    void aWrongFileIsNamedWithTheFix() throws IOException {
        String[] flags = tlsFlags(certs, "node1");
        flags[1] = certs.resolve("node-node9.pem").toString();
        assertThatThrownBy(() -> parse(flags).tls()).hasMessage(certs.resolve("node-node9.pem")
                + " (tls-cert): no such file: give a PEM file (`expertmesh certs` makes them)");

        String[] otherKey = tlsFlags(certs, "node1");
        otherKey[3] = certs.resolve("node-10.0.0.5-key.pem").toString();
        assertThatThrownBy(() -> parse(otherKey).tls()).hasMessage(certs.resolve("node-10.0.0.5-key.pem") + " (tls-key) is not the key of "
                + certs.resolve("node-node1.pem") + " (tls-cert): give the key that was made with that certificate");

        String[] otherCa = tlsFlags(certs, "node1");
        otherCa[5] = otherCerts.resolve("ca.pem").toString();
        assertThatThrownBy(() -> parse(otherCa).tls()).hasMessage(certs.resolve("node-node1.pem") + " (tls-cert) is not signed by "
                + otherCerts.resolve("ca.pem") + " (tls-ca): give the CA that issued it (ca.pem of `expertmesh certs`)");

        String[] certAsKey = tlsFlags(certs, "node1");
        certAsKey[3] = certs.resolve("node-node1.pem").toString();
        assertThatThrownBy(() -> parse(certAsKey).tls()).hasMessageStartingWith(certs.resolve("node-node1.pem")
                + " (tls-key): no PKCS#8 private key in it (expected -----BEGIN PRIVATE KEY-----)");

        Path notPem = Files.writeString(dir.resolve("not.pem"), "hello\n");
        String[] notACertificate = tlsFlags(certs, "node1");
        notACertificate[5] = notPem.toString();
        assertThatThrownBy(() -> parse(notACertificate).tls()).hasMessage(notPem
                + " (tls-ca): no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)");
    }

    @Test
    void aRoleWithAWrongFileStopsWithOneLine() {
        Commands.Run run = Commands.run("expert-worker", "--model", "demo", "--tls-cert", certs.resolve("node-node1.pem").toString());
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err().strip()).isEqualTo("error: TLS needs tls-cert, tls-key and tls-ca together: tls-key and tls-ca missing "
                + "(`expertmesh certs` makes all three)");
        Commands.Run noSecret = Commands.run("attention-worker", "--model", "demo", "--cluster-secret-file", dir.resolve("none").toString());
        assertThat(noSecret.exitCode()).isEqualTo(2);
        assertThat(noSecret.err().strip()).startsWith("error: " + dir.resolve("none") + ": cannot read the cluster secret (no such file)")
                .doesNotContain("\n");
    }

    @Test
    void aCommandWithAWrongCaFileStopsWithOneLine() throws IOException {
        Path notPem = dir.resolve("not-a-ca.pem");
        Commands.Run missing = Commands.run("status", "--coordinator", "127.0.0.1:1", "--tls-ca", notPem.toString());
        assertThat(missing.exitCode()).isEqualTo(2);
        assertThat(missing.err().strip()).isEqualTo("error: " + notPem + ": no such file: give the cluster's CA certificate (ca.pem)");
        Files.writeString(notPem, "hello\n");
        Commands.Run notACa = Commands.run("status", "--coordinator", "127.0.0.1:1", "--tls-ca", notPem.toString());
        assertThat(notACa.exitCode()).isEqualTo(2);
        assertThat(notACa.err().strip()).isEqualTo("error: " + notPem
                + ": no PEM certificate in it (expected -----BEGIN CERTIFICATE-----): give the cluster's CA certificate (ca.pem)");
    }
}
