package dev.expertmesh.cuda.runtime;

import java.util.List;
import java.util.regex.Pattern;

/** The kernels a .cu file defines: every extern "C" __global__ function. */
final class KernelNames {
    private static final Pattern KERNEL = Pattern.compile("extern\\s+\"C\"\\s+__global__\\s+(?:__launch_bounds__\\([^)]*\\)\\s+)?void\\s+(\\w+)\\s*\\(");

    private KernelNames() {
    }

    static List<String> in(String source) {
        return KERNEL.matcher(source).results().map(m -> m.group(1)).toList();
    }
}
