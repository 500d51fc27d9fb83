package dev.expertmesh.cuda.stage;

import dev.expertmesh.cuda.EmulatedGpu;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The cuda module's gpu-tagged tests on an emulated GPU ({@link EmulatedGpu}), against the CPU engine. */
class EmulatedGpuTest {

    @Test
    void theGpuTestsPassOnAnEmulatedGpu(@TempDir Path dir) throws Exception {
        assertThat(EmulatedGpu.runGpuTests(dir, "dev.expertmesh.cuda")).contains("34 tests successful");
    }
}
