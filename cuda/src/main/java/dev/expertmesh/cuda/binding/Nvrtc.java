package dev.expertmesh.cuda.binding;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** NVRTC, the run-time CUDA C++ compiler, through FFM: CUDA source in, CUBIN for one architecture out. */
public final class Nvrtc {
    static final List<String> CANDIDATES = List.of("libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12",
            "/usr/local/cuda/lib64/libnvrtc.so.13", "/usr/local/cuda/lib64/libnvrtc.so.12", "/usr/local/cuda/lib64/libnvrtc.so");
    private static final int COMPILATION_ERROR = 6;
    private static final FunctionDescriptor STATUS_OF_2_ADDRESSES = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private final NativeLibrary lib;

    private Nvrtc(NativeLibrary lib) {
        this.lib = lib;
    }

    public static Nvrtc load() {
        return new Nvrtc(NativeLibrary.open("NVRTC (libnvrtc.so, the CUDA run-time compiler)",
                "install the CUDA toolkit (or put its lib64 on LD_LIBRARY_PATH)", CANDIDATES));
    }

    /** "major.minor", part of the kernel cache's key: another compiler may emit other code. */
    public String version() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment major = arena.allocate(JAVA_INT);
            MemorySegment minor = arena.allocate(JAVA_INT);
            check("nvrtcVersion", lib.status("nvrtcVersion", STATUS_OF_2_ADDRESSES, major, minor));
            return major.get(JAVA_INT, 0) + "." + minor.get(JAVA_INT, 0);
        }
    }

    /**
     * CUBIN for compute capability {@code architecture} (90 for sm_90) of {@code source}, with
     * {@code includeDirectories} searched for its headers. A compile error throws with NVRTC's log.
     */
    public byte[] compile(String name, String source, int architecture, List<String> includeDirectories) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment programOut = arena.allocate(ADDRESS);
            check("nvrtcCreateProgram(" + name + ")", lib.status("nvrtcCreateProgram",
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS),
                    programOut, arena.allocateFrom(source), arena.allocateFrom(name), 0, MemorySegment.NULL, MemorySegment.NULL));
            MemorySegment program = programOut.get(ADDRESS, 0);
            try {
                List<String> options = new ArrayList<>(List.of("--gpu-architecture=sm_" + architecture, "--std=c++17", "-default-device"));
                includeDirectories.forEach(dir -> options.add("--include-path=" + dir));
                MemorySegment optionArray = arena.allocate(ADDRESS, options.size());
                for (int i = 0; i < options.size(); i++) {
                    optionArray.setAtIndex(ADDRESS, i, arena.allocateFrom(options.get(i)));
                }
                int result = lib.status("nvrtcCompileProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS),
                        program, options.size(), optionArray);
                if (result == COMPILATION_ERROR) {
                    throw new CudaException("NVRTC could not compile " + name + " for sm_" + architecture + ":\n" + log(program, arena));
                }
                check("nvrtcCompileProgram(" + name + ")", result);
                return cubin(program, arena);
            } finally {
                lib.status("nvrtcDestroyProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS), programOut);
            }
        }
    }

    private String log(MemorySegment program, Arena arena) {
        MemorySegment size = arena.allocate(JAVA_LONG);
        check("nvrtcGetProgramLogSize", lib.status("nvrtcGetProgramLogSize", STATUS_OF_2_ADDRESSES, program, size));
        MemorySegment text = arena.allocate(Math.max(1, size.get(JAVA_LONG, 0)));
        check("nvrtcGetProgramLog", lib.status("nvrtcGetProgramLog", STATUS_OF_2_ADDRESSES, program, text));
        return text.getString(0).strip();
    }

    private byte[] cubin(MemorySegment program, Arena arena) {
        MemorySegment size = arena.allocate(JAVA_LONG);
        check("nvrtcGetCUBINSize", lib.status("nvrtcGetCUBINSize", STATUS_OF_2_ADDRESSES, program, size));
        MemorySegment image = arena.allocate(size.get(JAVA_LONG, 0));
        check("nvrtcGetCUBIN", lib.status("nvrtcGetCUBIN", STATUS_OF_2_ADDRESSES, program, image));
        return image.toArray(JAVA_BYTE);
    }

    private void check(String call, int result) {
        if (result != 0) {
            String name = NativeLibrary.string((MemorySegment) lib.call("nvrtcGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT), result));
            throw CudaException.failed(call, result, name != null ? name : "NVRTC error " + result, null);
        }
    }
}
