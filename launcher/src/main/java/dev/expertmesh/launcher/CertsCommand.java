package dev.expertmesh.launcher;

import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;

@Command(name = "certs", mixinStandardHelpOptions = true,
        description = "Writes a test CA (ca.pem, ca-key.pem), a certificate and PKCS#8 key per host (node-HOST.pem, "
                + "node-HOST-key.pem: for the host, localhost and 127.0.0.1, as TLS server and client) signed by it, and a "
                + "random cluster secret (cluster-secret): the files of tls-cert, tls-key, tls-ca and cluster-secret-file. "
                + "Keys and the secret are readable by their owner only.")
final class CertsCommand implements Callable<Integer> {
    private static final Pattern HOST = Pattern.compile("[A-Za-z0-9._:-]+");
    private static final int SECRET_BYTES = 32;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory to write to (made if missing); "
            + "files already there are never overwritten.")
    Path out;

    @Option(names = "--hosts", required = true, split = ",", paramLabel = "HOST", description = "The nodes' host names or IP "
            + "addresses, as their --host advertises them.")
    List<String> hosts;

    @Option(names = "--days", defaultValue = "365", paramLabel = "N", description = "Days the certificates are valid. Default: ${DEFAULT-VALUE}.")
    int days;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (days < 1) {
            throw new IllegalArgumentException("--days " + days + ": expected 1 or more");
        }
        LinkedHashSet<String> names = new LinkedHashSet<>(hosts.stream().map(String::strip).filter(h -> !h.isEmpty()).toList());
        names.stream().filter(h -> !HOST.matcher(h).matches()).findFirst().ifPresent(h -> {
            throw new IllegalArgumentException("--hosts: '" + h + "' is not a host name or an IP address");
        });
        if (names.isEmpty()) {
            throw new IllegalArgumentException("--hosts: give at least one host, such as --hosts node1,node2");
        }
        Duration validity = Duration.ofDays(days);
        Files.createDirectories(out);
        CertificateAuthority ca = CertificateAuthority.create("ExpertMesh test CA", validity);
        PrintWriter report = spec.commandLine().getOut();
        write("ca.pem", pem(ca.certificate()), false, report);
        write("ca-key.pem", pem(new JcaPKCS8Generator(ca.key(), null)), true, report);
        for (String host : names) {
            CertificateAuthority.Issued node = ca.issue(host, validity);
            write("node-" + host + ".pem", pem(node.certificate()), false, report);
            write("node-" + host + "-key.pem", pem(new JcaPKCS8Generator(node.key(), null)), true, report);
        }
        byte[] secret = new byte[SECRET_BYTES];
        new SecureRandom().nextBytes(secret);
        write("cluster-secret", Base64.getEncoder().encodeToString(secret) + "\n", true, report);
        report.println("each node: tls-cert node-HOST.pem, tls-key node-HOST-key.pem, tls-ca ca.pem, cluster-secret-file cluster-secret; "
                + "keep ca-key.pem off the nodes");
        return 0;
    }

    /** Never over an existing file: new keys would silently part a node from the cluster its old ones belong to. */
    private void write(String name, String text, boolean secret, PrintWriter report) throws IOException {
        Path file = out.resolve(name);
        try {
            if (secret) {
                Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } else {
                Files.createFile(file);
            }
        } catch (FileAlreadyExistsException e) {
            throw new IllegalArgumentException(file + " exists already: choose another --out directory, or remove the old files first", e);
        }
        Files.writeString(file, text, StandardCharsets.US_ASCII, StandardOpenOption.TRUNCATE_EXISTING);
        report.println("wrote " + file);
    }

    private static String pem(Object object) throws IOException {
        StringWriter text = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
            writer.writeObject(object);
        }
        return text.toString();
    }
}
