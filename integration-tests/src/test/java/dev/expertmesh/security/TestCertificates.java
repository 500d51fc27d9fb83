package dev.expertmesh.security;

import dev.expertmesh.launcher.ExpertMesh;
import dev.expertmesh.membership.ClusterSecret;
import dev.expertmesh.transport.TlsFiles;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** What `expertmesh certs --hosts 127.0.0.1` writes into a directory: a CA, the loopback node's certificate and a secret. */
public record TestCertificates(Path dir) {
    public static final String HOST = "127.0.0.1";

    /** Runs `expertmesh certs` into {@code dir}. */
    public static TestCertificates make(Path dir) {
        StringWriter err = new StringWriter();
        int exit = ExpertMesh.commandLine().setErr(new PrintWriter(err)).setOut(new PrintWriter(new StringWriter()))
                .execute("certs", "--out", dir.toString(), "--hosts", HOST, "--days", "1");
        assertThat(exit).as("expertmesh certs: %s", err).isZero();
        return new TestCertificates(dir);
    }

    public TlsFiles tls() {
        return TlsFiles.of(dir.resolve("node-" + HOST + ".pem"), dir.resolve("node-" + HOST + "-key.pem"), ca()).orElseThrow();
    }

    public Path ca() {
        return dir.resolve("ca.pem");
    }

    public ClusterSecret secret() {
        return ClusterSecret.read(dir.resolve("cluster-secret"));
    }
}
