package dev.expertmesh.transport;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;

/**
 * A node's TLS identity, PEM files: its certificate (chain), the certificate's private key (PKCS#8,
 * unencrypted), and the CA certificates that its peers' certificates must be signed by. Checked when
 * made, so that a wrong file is named at start rather than at the first connection; read again at
 * each use, so a node that starts again picks up renewed files.
 */
public record TlsFiles(Path certificate, Path privateKey, Path ca) {
    public static final String CERT_KEY = "tls-cert";
    public static final String KEY_KEY = "tls-key";
    public static final String CA_KEY = "tls-ca";

    public TlsFiles {
        List<X509Certificate> chain = certificates(certificate, CERT_KEY);
        List<X509Certificate> authorities = certificates(ca, CA_KEY);
        PrivateKey key = key(privateKey, chain.getFirst().getPublicKey().getAlgorithm());
        if (!matches(key, chain.getFirst().getPublicKey())) {
            throw new IllegalArgumentException(privateKey + " (" + KEY_KEY + ") is not the key of " + certificate + " (" + CERT_KEY
                    + "): give the key that was made with that certificate");
        }
        if (authorities.stream().noneMatch(authority -> signedBy(chain.getLast(), authority))) {
            throw new IllegalArgumentException(certificate + " (" + CERT_KEY + ") is not signed by " + ca + " (" + CA_KEY
                    + "): give the CA that issued it (ca.pem of `expertmesh certs`)");
        }
    }

    /** TLS when all three files are given (null: not given), none without; some without the others is an error. */
    public static Optional<TlsFiles> of(Path certificate, Path privateKey, Path ca) {
        if (certificate == null && privateKey == null && ca == null) {
            return Optional.empty();
        }
        List<String> missing = new ArrayList<>();
        if (certificate == null) {
            missing.add(CERT_KEY);
        }
        if (privateKey == null) {
            missing.add(KEY_KEY);
        }
        if (ca == null) {
            missing.add(CA_KEY);
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("TLS needs " + CERT_KEY + ", " + KEY_KEY + " and " + CA_KEY + " together: "
                    + String.join(" and ", missing) + " missing (`expertmesh certs` makes all three)");
        }
        return Optional.of(new TlsFiles(certificate, privateKey, ca));
    }

    public InputStream certificateChain() {
        return open(certificate);
    }

    public InputStream keyPkcs8() {
        return open(privateKey);
    }

    public InputStream caCertificates() {
        return open(ca);
    }

    /** The certificate chain, read again now. */
    public List<X509Certificate> chain() {
        return certificates(certificate, CERT_KEY);
    }

    /** The CA certificates peers' certificates must be signed by, read again now. */
    public List<X509Certificate> authorities() {
        return certificates(ca, CA_KEY);
    }

    /** The private key of {@code chain}'s first certificate, read again now. */
    public PrivateKey signingKey(List<X509Certificate> chain) {
        return key(privateKey, chain.getFirst().getPublicKey().getAlgorithm());
    }

    private static InputStream open(Path file) {
        try {
            return new ByteArrayInputStream(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read it any more: " + e.getMessage(), e);
        }
    }

    private static byte[] read(Path file, String key) {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + " (" + key + "): no such file: give a PEM file (`expertmesh certs` makes them)", e);
        } catch (AccessDeniedException e) {
            throw new IllegalArgumentException(file + " (" + key + "): permission denied: let the user running the node read it", e);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + " (" + key + "): cannot read: " + e.getMessage(), e);
        }
    }

    private static List<X509Certificate> certificates(Path file, String key) {
        byte[] pem = read(file, key);
        try {
            List<X509Certificate> certificates = CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem))
                    .stream().map(X509Certificate.class::cast).toList();
            if (!certificates.isEmpty()) {
                return certificates;
            }
        } catch (CertificateException e) {
            // Reported below, as for a file without certificates.
        }
        throw new IllegalArgumentException(file + " (" + key + "): no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)");
    }

    private static PrivateKey key(Path file, String algorithm) {
        String pem = new String(read(file, KEY_KEY), StandardCharsets.US_ASCII);
        if (pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
            throw new IllegalArgumentException(file + " (" + KEY_KEY + "): the key is encrypted: decrypt it with "
                    + "`openssl pkcs8 -in " + file + " -out key.pem` and give key.pem");
        }
        int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = pem.indexOf("-----END PRIVATE KEY-----");
        if (begin < 0 || end < begin) {
            throw new IllegalArgumentException(file + " (" + KEY_KEY + "): no PKCS#8 private key in it (expected -----BEGIN PRIVATE KEY-----): "
                    + "convert it with `openssl pkcs8 -topk8 -nocrypt -in " + file + " -out key.pem` and give key.pem");
        }
        String base64 = pem.substring(begin + "-----BEGIN PRIVATE KEY-----".length(), end).replaceAll("\\s", "");
        try {
            return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(base64)));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException(file + " (" + KEY_KEY + "): not a readable " + algorithm + " private key, as the certificate's is: "
                    + e.getMessage(), e);
        }
    }

    /** Whether {@code key} is the private half of {@code certified}: what it signs, that key verifies. */
    private static boolean matches(PrivateKey key, PublicKey certified) {
        String algorithm = switch (certified.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            default -> certified.getAlgorithm();
        };
        byte[] probe = "expertmesh".getBytes(StandardCharsets.US_ASCII);
        try {
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certified);
            verifier.update(probe);
            return verifier.verify(signer.sign());
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static boolean signedBy(X509Certificate certificate, X509Certificate authority) {
        try {
            certificate.verify(authority.getPublicKey());
            return true;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }
}
