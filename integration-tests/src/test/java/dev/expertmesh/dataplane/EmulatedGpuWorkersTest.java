package dev.expertmesh.dataplane;

import dev.expertmesh.cuda.EmulatedGpu;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link GpuWorkersTest} on an emulated GPU ({@link EmulatedGpu}): workers on the GPU path, against the CPU engine. */
class EmulatedGpuWorkersTest {

    @Test
    void gpuWorkersPassOnAnEmulatedGpu(@TempDir Path dir) throws Exception {
        assertThat(EmulatedGpu.runGpuTests(dir, "dev.expertmesh.dataplane")).contains("2 tests successful");
    }
}
