package dev.expertmesh.cuda.device;

import dev.expertmesh.cuda.binding.CudaUnavailableException;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DeviceTest {
    private static final Device.Probe ONE_DEVICE = () -> 1;
    private static final Device.Probe TWO_DEVICES = () -> 2;
    private static final Device.Probe NO_DRIVER = () -> {
        throw new CudaUnavailableException("the NVIDIA driver library libcuda.so.1 was not found (tried libcuda.so.1): "
                + "install the NVIDIA driver, or run with --device cpu");
    };

    @Test
    void namesParseIntoDevices() {
        assertThat(Device.select("cpu", NO_DRIVER)).isEqualTo(new Device.Cpu());
        assertThat(Device.select("cuda", ONE_DEVICE)).isEqualTo(new Device.Cuda(0));
        assertThat(Device.select("cuda:1", TWO_DEVICES)).isEqualTo(new Device.Cuda(1));
        assertThat(Device.select(" CUDA:0 ", ONE_DEVICE)).isEqualTo(new Device.Cuda(0));
    }

    @Test
    void autoIsTheFirstGpuWhenThereIsOneElseTheCpu() {
        assertThat(Device.select("auto", ONE_DEVICE)).isEqualTo(new Device.Cuda(0));
        assertThat(Device.select("auto", () -> 0)).isEqualTo(new Device.Cpu());
        assertThat(Device.select("auto", NO_DRIVER)).isEqualTo(new Device.Cpu());
    }

    @Test
    void aDeviceBeyondTheLastIsRefusedWithTheCount() {
        assertThatThrownBy(() -> Device.select("cuda:7", ONE_DEVICE))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--device cuda:7: this machine has 1 CUDA device (cuda:0)");
        assertThatThrownBy(() -> Device.select("cuda:2", TWO_DEVICES))
                .hasMessage("--device cuda:2: this machine has 2 CUDA devices (cuda:0 to cuda:1)");
    }

    @Test
    void cudaWithoutADriverSaysWhichLibraryAndHowToFix() {
        assertThatThrownBy(() -> Device.select("cuda", NO_DRIVER))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("--device cuda: the NVIDIA driver library libcuda.so.1 was not found")
                .hasMessageEndingWith("run with --device cpu");
        assertThatThrownBy(() -> Device.select("cuda", () -> 0)).hasMessageContaining("sees no CUDA device");
    }

    @Test
    void malformedValuesAreRefused() {
        for (String value : new String[]{"gpu", "cuda:", "cuda:x", "cuda:-1", "cpu:0", ""}) {
            assertThatThrownBy(() -> Device.select(value, ONE_DEVICE))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("--device " + value + ": expected cpu, cuda, cuda:N (N a device number) or auto");
        }
    }
}
