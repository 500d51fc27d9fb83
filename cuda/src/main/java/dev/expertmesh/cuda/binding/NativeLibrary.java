package dev.expertmesh.cuda.binding;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A shared library opened at run time, its functions bound on first use: nothing CUDA is needed to
 * build or to start, and a library missing only some newer function still serves the rest.
 */
public final class NativeLibrary {
    private static final Linker LINKER = Linker.nativeLinker();
    private final String file;
    private final SymbolLookup lookup;
    private final Map<String, MethodHandle> handles = new ConcurrentHashMap<>();

    private NativeLibrary(String file, SymbolLookup lookup) {
        this.file = file;
        this.lookup = lookup;
    }

    /**
     * The first of {@code candidates} that opens: a name for the dynamic loader (searched along
     * LD_LIBRARY_PATH and the loader's cache) or an absolute path. None opening is reported as
     * "{@code what} was not found (tried ...): {@code fix}, or run with --device cpu".
     */
    public static NativeLibrary open(String what, String fix, List<String> candidates) {
        for (String candidate : candidates) {
            try {
                if (candidate.contains("/")) {
                    Path path = Path.of(candidate);
                    if (Files.exists(path)) {
                        return new NativeLibrary(candidate, SymbolLookup.libraryLookup(path, Arena.global()));
                    }
                } else {
                    return new NativeLibrary(candidate, SymbolLookup.libraryLookup(candidate, Arena.global()));
                }
            } catch (IllegalArgumentException | IllegalCallerException notLoadable) {
                // the next candidate may load
            }
        }
        throw new CudaUnavailableException(what + " was not found (tried " + String.join(", ", candidates) + "): "
                + fix + ", or run with --device cpu");
    }

    public boolean has(String symbol) {
        return lookup.find(symbol).isPresent();
    }

    /** Calls {@code symbol} with {@code args} (boxed as the descriptor's carriers) and returns what it returns. */
    public Object call(String symbol, FunctionDescriptor descriptor, Object... args) {
        MethodHandle handle = handles.computeIfAbsent(symbol, s -> LINKER.downcallHandle(lookup.find(s).orElseThrow(() ->
                new CudaUnavailableException(file + " has no " + s + ": it is older than ExpertMesh needs; update the NVIDIA "
                        + "driver and CUDA toolkit, or run with --device cpu")), descriptor));
        try {
            return handle.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(symbol + " threw " + e, e);
        }
    }

    /** A call returning a status code: 0 is success in the driver, NVRTC and cuBLAS alike. */
    public int status(String symbol, FunctionDescriptor descriptor, Object... args) {
        return (int) call(symbol, descriptor, args);
    }

    /** A NUL-terminated string a library returned, or null. */
    static String string(MemorySegment address) {
        return address.equals(MemorySegment.NULL) ? null : address.reinterpret(4096).getString(0);
    }
}
