package dev.expertmesh.cuda.compile;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * What a compiled kernel file depends on: its source, the GPU architecture, and the compiler's
 * version. Any change gives another file name, so a stale binary is never loaded.
 */
public record KernelCacheKey(String name, String sourceHash, int architecture, String compilerVersion) {

    public static KernelCacheKey of(String name, String source, int architecture, String compilerVersion) {
        return new KernelCacheKey(name, sha256(source), architecture, compilerVersion);
    }

    /** e.g. rms_norm-sm90-nvrtc13.0-1f2e3d4c5b6a7980.cubin */
    public String fileName() {
        return name + "-sm" + architecture + "-nvrtc" + compilerVersion + "-" + sourceHash.substring(0, 16) + ".cubin";
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }
}
