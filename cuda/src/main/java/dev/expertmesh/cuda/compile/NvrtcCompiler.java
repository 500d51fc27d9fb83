package dev.expertmesh.cuda.compile;

import dev.expertmesh.cuda.binding.Nvrtc;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Kernels compiled by NVRTC, with the CUDA toolkit's include directory for cuda_bf16.h. */
public final class NvrtcCompiler implements KernelCompiler {
    private final Nvrtc nvrtc;
    private final String version;
    private final List<String> includeDirectories;

    public NvrtcCompiler(Nvrtc nvrtc) {
        this.nvrtc = nvrtc;
        this.version = nvrtc.version();
        this.includeDirectories = Stream.of(System.getenv("CUDA_HOME"), System.getenv("CUDA_PATH"), "/usr/local/cuda")
                .filter(home -> home != null && !home.isBlank())
                .map(home -> Path.of(home, "include"))
                .filter(Files::isDirectory)
                .map(Path::toString)
                .distinct()
                .toList();
    }

    @Override
    public String version() {
        return version;
    }

    @Override
    public byte[] compile(String name, String source, int architecture) {
        return nvrtc.compile(name + ".cu", source, architecture, includeDirectories);
    }
}
