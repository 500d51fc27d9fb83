package dev.expertmesh.cuda.compile;

/** Compiles one kernel source for one architecture: NVRTC in production, a stand-in in tests. */
public interface KernelCompiler {

    String version();

    byte[] compile(String name, String source, int architecture);
}
