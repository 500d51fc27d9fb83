package dev.expertmesh.launcher;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A test CA with EC P-256 keys: its self-signed certificate, and certificates it issues to nodes,
 * each good as a TLS server's and a TLS client's, for its host and for loopback.
 */
final class CertificateAuthority {
    /** A certificate and its private key. */
    record Issued(X509Certificate certificate, PrivateKey key) {
    }

    private static final String SIGNATURE = "SHA256withECDSA";
    private static final Pattern IP_ADDRESS = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}|.*:.*");
    /** Clocks of the nodes may be behind the one that made the certificates. */
    private static final Duration BACKDATE = Duration.ofHours(1);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final X500Name name;
    private final Issued self;

    private CertificateAuthority(X500Name name, Issued self) {
        this.name = name;
        this.self = self;
    }

    static CertificateAuthority create(String commonName, Duration validity) throws GeneralSecurityException {
        X500Name name = new X500Name("CN=" + commonName);
        KeyPair keys = keyPair();
        JcaX509v3CertificateBuilder builder = builder(name, name, keys, validity);
        try {
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false, new JcaX509ExtensionUtils().createSubjectKeyIdentifier(keys.getPublic()));
        } catch (IOException e) {
            throw new CertificateException("cannot encode the CA's extensions", e);
        }
        return new CertificateAuthority(name, new Issued(sign(builder, keys.getPrivate()), keys.getPrivate()));
    }

    X509Certificate certificate() {
        return self.certificate();
    }

    PrivateKey key() {
        return self.key();
    }

    /** A node certificate for {@code host} (a DNS name or an IP address), localhost and 127.0.0.1. */
    Issued issue(String host, Duration validity) throws GeneralSecurityException {
        KeyPair keys = keyPair();
        JcaX509v3CertificateBuilder builder = builder(name, new X500Name("CN=" + host), keys, validity);
        Set<String> names = new LinkedHashSet<>(List.of(host, "localhost", "127.0.0.1"));
        GeneralName[] alternatives = names.stream()
                .map(n -> new GeneralName(IP_ADDRESS.matcher(n).matches() ? GeneralName.iPAddress : GeneralName.dNSName, n))
                .toArray(GeneralName[]::new);
        try {
            JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .addExtension(Extension.extendedKeyUsage, false,
                            new ExtendedKeyUsage(new KeyPurposeId[]{KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
                    .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(alternatives))
                    .addExtension(Extension.subjectKeyIdentifier, false, extensions.createSubjectKeyIdentifier(keys.getPublic()))
                    .addExtension(Extension.authorityKeyIdentifier, false, extensions.createAuthorityKeyIdentifier(self.certificate()));
        } catch (IOException e) {
            throw new CertificateException("cannot encode the extensions of " + host + "'s certificate", e);
        }
        return new Issued(sign(builder, self.key()), keys.getPrivate());
    }

    private static KeyPair keyPair() throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        return generator.generateKeyPair();
    }

    private static JcaX509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair keys, Duration validity) {
        Instant now = Instant.now();
        return new JcaX509v3CertificateBuilder(issuer, new BigInteger(127, RANDOM), Date.from(now.minus(BACKDATE)),
                Date.from(now.plus(validity)), subject, keys.getPublic());
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey issuerKey) throws GeneralSecurityException {
        try {
            return new JcaX509CertificateConverter().getCertificate(builder.build(new JcaContentSignerBuilder(SIGNATURE).build(issuerKey)));
        } catch (OperatorCreationException e) {
            throw new CertificateException("cannot sign with " + SIGNATURE, e);
        }
    }
}
