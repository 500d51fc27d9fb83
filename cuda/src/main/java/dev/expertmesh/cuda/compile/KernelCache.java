package dev.expertmesh.cuda.compile;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Compiled kernels on disk, so that only the first start on a machine (or after a kernel, the GPU
 * or the compiler changes) pays for NVRTC. Files are written under a temporary name and moved into
 * place, so processes starting together never read half a file.
 */
public final class KernelCache {
    private static final Logger log = LoggerFactory.getLogger(KernelCache.class);
    private final Path directory;
    private final KernelCompiler compiler;

    public KernelCache(Path directory, KernelCompiler compiler) {
        this.directory = directory;
        this.compiler = compiler;
    }

    /** $EXPERTMESH_CACHE/kernels if set, else ~/.cache/expertmesh/kernels. */
    public static Path defaultDirectory() {
        String configured = System.getenv("EXPERTMESH_CACHE");
        return configured != null && !configured.isBlank()
                ? Path.of(configured, "kernels")
                : Path.of(System.getProperty("user.home"), ".cache", "expertmesh", "kernels");
    }

    /** The binary of {@code source} for {@code architecture}: from disk if compiled before, else compiled and stored. */
    public byte[] binary(String name, String source, int architecture) {
        KernelCacheKey key = KernelCacheKey.of(name, source, architecture, compiler.version());
        Path file = directory.resolve(key.fileName());
        try {
            if (Files.isRegularFile(file)) {
                return Files.readAllBytes(file);
            }
            long start = System.nanoTime();
            byte[] binary = compiler.compile(name, source, architecture);
            log.info("Compiled kernel {} for sm_{} in {} ms", name, architecture, (System.nanoTime() - start) / 1_000_000);
            store(file, binary);
            return binary;
        } catch (IOException e) {
            throw new IllegalStateException("kernel cache " + directory + ": " + e.getMessage()
                    + " (set EXPERTMESH_CACHE to a writable directory)", e);
        }
    }

    private void store(Path file, byte[] binary) throws IOException {
        Files.createDirectories(directory);
        Path partial = Files.createTempFile(directory, file.getFileName().toString(), ".partial");
        try {
            Files.write(partial, binary);
            Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(partial);
        }
    }
}
