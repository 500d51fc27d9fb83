package dev.expertmesh.cuda.binding;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Failed calls and missing libraries as users see them, through a stand-in libcuda compiled from
 * src/test/c by gcc (skipped without gcc): the same FFM path as the real driver, without a GPU.
 */
class BindingErrorsTest {
    @TempDir
    static Path dir;
    private static Path fakeCuda;

    @BeforeAll
    static void buildTheStandIn() throws IOException, InterruptedException {
        fakeCuda = StandIns.build("fake_cuda", dir);
    }

    private static CudaDriver fakeDriver() {
        return CudaDriver.load(List.of(fakeCuda.toString()));
    }

    @Test
    void aFailedCallNamesTheCallAndTheDriversError() {
        CudaDriver driver = fakeDriver();
        assertThat(driver.deviceCount()).isEqualTo(1);
        assertThatThrownBy(() -> driver.allocate(1 << 20))
                .isInstanceOf(CudaException.class)
                .hasMessage("cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (out of memory)");
        assertThatThrownBy(() -> driver.device(3))
                .hasMessage("cuDeviceGet failed: CUDA_ERROR_INVALID_DEVICE (invalid device ordinal)");
    }

    @Test
    void anErrorTheDriverCannotNameIsGivenByNumber() {
        assertThatThrownBy(() -> fakeDriver().setCurrent(MemorySegment.NULL))
                .hasMessage("cuCtxSetCurrent failed: CUDA error 999");
    }

    @Test
    void aFunctionTheLibraryLacksAsksForANewerDriver() {
        assertThatThrownBy(() -> fakeDriver().createStream())
                .isInstanceOf(CudaUnavailableException.class)
                .hasMessageContaining("has no cuStreamCreate")
                .hasMessageContaining("update the NVIDIA driver");
    }

    @Test
    void aMissingLibraryIsOneLineNamingItAndTheFix() {
        assertThatThrownBy(() -> CudaDriver.load(List.of("libexpertmesh-no-such-cuda.so.1", "/nonexistent/libcuda.so.1")))
                .isInstanceOf(CudaUnavailableException.class)
                .hasMessage("the NVIDIA driver library libcuda.so.1 was not found (tried libexpertmesh-no-such-cuda.so.1, "
                        + "/nonexistent/libcuda.so.1): install the NVIDIA driver (or put its directory on LD_LIBRARY_PATH), "
                        + "or run with --device cpu");
    }

    @Test
    void cublasStatusesAreNamedEvenWithoutCublasGetStatusName() {
        NativeLibrary withoutNames = NativeLibrary.open("stand-in", "build it", List.of(fakeCuda.toString()));
        assertThat(Cublas.statusName(withoutNames, 15)).isEqualTo("CUBLAS_STATUS_NOT_SUPPORTED");
        assertThat(Cublas.statusName(withoutNames, 42)).isEqualTo("CUBLAS_STATUS_UNKNOWN_42");
        assertThat(CudaException.failed("cublasGemmEx", 15, Cublas.statusName(withoutNames, 15), null))
                .hasMessage("cublasGemmEx failed: CUBLAS_STATUS_NOT_SUPPORTED");
    }
}
