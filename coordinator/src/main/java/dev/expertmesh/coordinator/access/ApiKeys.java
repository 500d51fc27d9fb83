package dev.expertmesh.coordinator.access;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * The API keys a coordinator accepts on its public APIs, as {@code Authorization: Bearer KEY}. A
 * presented key's SHA-256 digest is compared with every key's in constant time: digests are all of
 * one length, so the time taken tells neither a key, its length, nor which one matched. No key is
 * ever logged.
 */
public final class ApiKeys {
    private static final Logger log = LoggerFactory.getLogger(ApiKeys.class);
    private static final String BEARER = "Bearer ";

    private final List<byte[]> digests;

    private ApiKeys(List<byte[]> digests) {
        this.digests = digests;
    }

    /** Accepts any of {@code keys}, at least one. */
    public static ApiKeys of(List<String> keys) {
        if (keys.isEmpty()) {
            throw new IllegalArgumentException("no API key: give at least one");
        }
        return new ApiKeys(keys.stream().map(ApiKeys::digest).toList());
    }

    /**
     * Whether {@code authorization} (the header's value, null when absent) is "Bearer " and one of
     * the keys; a refusal is logged with {@code from}, the caller's address, never with what it sent.
     */
    public boolean admits(String authorization, Object from) {
        boolean admitted = false;
        if (authorization != null && authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            byte[] presented = digest(authorization.substring(BEARER.length()).strip());
            for (byte[] key : digests) {
                admitted |= MessageDigest.isEqual(presented, key);
            }
        }
        if (!admitted) {
            log.info("A request without a valid API key from {}", from);
        }
        return admitted;
    }

    private static byte[] digest(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }
}
