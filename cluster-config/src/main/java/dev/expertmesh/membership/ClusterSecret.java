package dev.expertmesh.membership;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.expertmesh.proto.Signed;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Optional;

/**
 * The secret every node of a cluster shares, which signs what a node writes to the cluster's maps
 * (HMAC-SHA256 over the entry's key and bytes) and checks what it reads. Hazelcast's open-source
 * edition lets anyone who reaches its port join; with a secret, what such a process writes is
 * ignored. {@link #NONE} signs nothing and accepts every entry, as a cluster without a secret does.
 */
public final class ClusterSecret {
    public static final ClusterSecret NONE = new ClusterSecret(null);
    static final int MIN_BYTES = 16;
    private static final String HMAC = "HmacSHA256";

    private final SecretKeySpec key;

    private ClusterSecret(SecretKeySpec key) {
        this.key = key;
    }

    /** The secret is the file's text without surrounding whitespace, such as the base64 that `expertmesh certs` writes. */
    public static ClusterSecret read(Path file) {
        String text;
        try {
            text = Files.readString(file).strip();
        } catch (NoSuchFileException | AccessDeniedException e) {
            throw new IllegalArgumentException(file + ": cannot read the cluster secret (" + (e instanceof NoSuchFileException
                    ? "no such file" : "permission denied") + "): make one with `expertmesh certs` or `openssl rand -base64 32 > " + file + "`", e);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read the cluster secret: " + e.getMessage(), e);
        }
        return of(file.toString(), text.getBytes(StandardCharsets.UTF_8));
    }

    /** {@code secret} is named {@code source} in the error a short one gets. */
    public static ClusterSecret of(String source, byte[] secret) {
        if (secret.length < MIN_BYTES) {
            throw new IllegalArgumentException(source + ": the cluster secret has " + secret.length + " bytes, at least " + MIN_BYTES
                    + " are needed: make one with `openssl rand -base64 32`");
        }
        return new ClusterSecret(new SecretKeySpec(secret, HMAC));
    }

    public boolean isSet() {
        return key != null;
    }

    /** {@code body}, to be stored under {@code entryKey}, with its signature. */
    public byte[] sign(String entryKey, byte[] body) {
        Signed.Builder signed = Signed.newBuilder().setBody(ByteString.copyFrom(body));
        if (key != null) {
            signed.setHmac(ByteString.copyFrom(hmac(entryKey, body)));
        }
        return signed.build().toByteArray();
    }

    /**
     * The body stored under {@code entryKey}, if its signature is this secret's (any, without one);
     * empty for an entry signed with another secret, not signed, or not a signed entry at all.
     */
    public Optional<byte[]> verify(String entryKey, byte[] stored) {
        Signed signed;
        try {
            signed = Signed.parseFrom(stored);
        } catch (InvalidProtocolBufferException e) {
            return Optional.empty();
        }
        byte[] body = signed.getBody().toByteArray();
        if (key != null && !MessageDigest.isEqual(hmac(entryKey, body), signed.getHmac().toByteArray())) {
            return Optional.empty();
        }
        return Optional.of(body);
    }

    /** Binding the key stops an entry signed for one key (another node's id, the serving epoch) being replayed under another. */
    private byte[] hmac(String entryKey, byte[] body) {
        try {
            Mac mac = Mac.getInstance(HMAC);
            mac.init(key);
            mac.update(entryKey.getBytes(StandardCharsets.UTF_8));
            mac.update((byte) 0);
            return mac.doFinal(body);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 is missing from this JDK", e);
        }
    }

    /** Never the secret itself: it is part of the member settings, which may be printed. */
    @Override
    public String toString() {
        return key == null ? "no cluster secret" : "a cluster secret";
    }
}
