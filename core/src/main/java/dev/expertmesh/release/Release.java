package dev.expertmesh.release;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** The ExpertMesh release: its version has one home, the resource beside this class, which --version and /version both read. */
public final class Release {
    private static final String VERSION = read();

    private Release() {
    }

    public static String version() {
        return VERSION;
    }

    private static String read() {
        try (InputStream in = Release.class.getResourceAsStream("version")) {
            if (in == null) {
                throw new IllegalStateException("the resource dev/expertmesh/release/version is missing from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
