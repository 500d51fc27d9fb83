package dev.expertmesh.cuda.compile;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The .cu files shipped as resources next to this class's package, by file name without .cu. */
public final class KernelSources {
    /** Every kernel file of the ABI (docs in kernel-abi). */
    public static final List<String> FILES = List.of("embedding", "rms_norm", "rope", "silu_mul", "router", "moe", "cache",
            "mla_decode", "mla_prefill", "sampling", "elementwise", "quantized_linear");
    private static final String DIRECTORY = "/dev/expertmesh/cuda/kernels/";

    private KernelSources() {
    }

    public static Map<String, String> all() {
        Map<String, String> sources = new LinkedHashMap<>();
        for (String file : FILES) {
            sources.put(file, read(file));
        }
        return sources;
    }

    static String read(String file) {
        String resource = DIRECTORY + file + ".cu";
        try (InputStream in = KernelSources.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("kernel source " + resource + " is missing from the classpath (a broken build)");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(resource + ": " + e.getMessage(), e);
        }
    }
}
